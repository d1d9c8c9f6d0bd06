"""Pass-through disks: a host disk an admin listed (passthrough_disks) is
given to a VM whole, on every backend — on libvirt as a block disk, raw;
any other device or path asked for as a pass-through disk is refused with
an error naming it, and a listed disk is still no image medium. The listed
disk here is a file outside the storage roots, as the tests may not own a
real block device."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from backend_scenarios import new_vm
from conftest import BackendHarness
from cimprovider.backends import Backend, InvalidParameterError
from cimprovider.schemas import Controller, ControllerType, Drive, Media


@pytest.fixture
def listed(harness: BackendHarness) -> Path:
    disk = harness.storage.parent.parent / "host-disks" / "sdb"
    disk.parent.mkdir(parents=True, exist_ok=True)
    disk.write_bytes(bytes(1024 * 1024))
    harness.config = harness.config.model_copy(update={"passthrough_disks": [disk]})
    return disk


def _domain_disks(harness: BackendHarness, vm_id: object) -> list[etree._Element]:
    import libvirt

    conn = libvirt.open("test:///default")
    try:
        xml = conn.lookupByUUIDString(str(vm_id)).XMLDesc(0)
    finally:
        conn.close()
    return etree.fromstring(xml.encode()).findall("devices/disk")


def test_a_listed_disk_is_attached_whole(harness: BackendHarness, listed: Path) -> None:
    backend = harness.open()
    vm = new_vm(backend)
    scsi = backend.add_device(vm.id, Controller(controller_type=ControllerType.SCSI))
    drive = backend.add_device(vm.id, Drive(controller_id=scsi.id, media=Media(path=str(listed), passthrough=True)))
    stored = next(d for d in backend.get_vm(vm.id).drives if d.id == drive.id)
    assert stored.media is not None and stored.media.path == str(listed) and stored.media.passthrough
    if harness.name == "libvirt":
        disk = next(d for d in _domain_disks(harness, vm.id) if d.find("source").get("dev") == str(listed))
        assert (disk.get("type"), disk.get("device"), disk.find("driver").get("type")) == ("block", "disk", "raw")


@pytest.mark.parametrize("case", ["unlisted device", "unlisted block device", "another name for a listed disk", "image file"])
def test_anything_else_is_refused_as_a_passthrough_disk(harness: BackendHarness, listed: Path, case: str) -> None:
    path = {
        "unlisted device": "/dev/null",
        "unlisted block device": "/dev/loop0",
        "another name for a listed disk": f"{listed.parent}/../{listed.parent.name}/{listed.name}",
        "image file": harness.medium("disk.img"),
    }[case]
    backend = harness.open()
    vm = new_vm(backend)
    scsi = backend.add_device(vm.id, Controller(controller_type=ControllerType.SCSI))
    before = backend.get_vm(vm.id)
    with pytest.raises(InvalidParameterError) as refused:
        backend.add_device(vm.id, Drive(controller_id=scsi.id, media=Media(path=path, passthrough=True)))
    assert refused.value.field == "media.path" and path in str(refused.value)
    assert backend.get_vm(vm.id) == before


def test_a_listed_disk_is_still_no_image_medium(harness: BackendHarness, listed: Path, backend: Backend) -> None:
    vm = new_vm(backend)
    scsi = backend.add_device(vm.id, Controller(controller_type=ControllerType.SCSI))
    with pytest.raises(InvalidParameterError) as refused:
        backend.add_device(vm.id, Drive(controller_id=scsi.id, media=Media(path=str(listed))))
    assert str(listed) in str(refused.value)
