"""Disks on the libvirt backend (test driver): every disk is written with
its driver format, read from the file's content; a VHDX disk, which
libvirt 9.0 cannot name, and a VHD disk, which QEMU cannot save or
migrate, are converted to qcow2 as they are attached and the VM runs on
the copy. Images are made and read back with qemu-img."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import libvirt
import pytest
from lxml import etree

from backend_scenarios import new_vm
from cimprovider.backends import InvalidParameterError
from cimprovider.backends.libvirt import LibvirtBackend
from cimprovider.schemas import Drive, Media
from conftest import BackendHarness
from libvirt_harness import backend, harness  # noqa: F401 (fixtures)
from tests.backends.images.readers import qemu_compare, qemu_info, qemu_io


@pytest.fixture
def storage(harness: BackendHarness) -> Path:
    """The storage root: disks are attached from inside it only."""
    harness.storage.mkdir(parents=True)
    return harness.storage


def image(path: Path, fmt: str, size: str = "4M") -> Path:
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, str(path), size], check=True)
    return path


def driver_formats(vm_id) -> dict[str, str]:  # type: ignore[no-untyped-def]
    domain = libvirt.open("test:///default").lookupByUUID(vm_id.bytes)
    xml = etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    return {disk.find("source").get("file"): disk.find("driver").get("type") for disk in xml.iterfind("devices/disk") if disk.find("source") is not None}


def test_every_disk_names_its_format_by_content_not_by_name(backend: LibvirtBackend, storage: Path) -> None:
    vhd = image(storage / "system.vhd", "vpc")
    qcow2 = image(storage / "data.qcow2", "qcow2")
    disguised = image(storage / "named-raw.img", "qcow2")  # qcow2 whatever its name says
    raw = image(storage / "plain.img", "raw")
    vm = new_vm(backend, "formats")
    ide = vm.controllers[0]
    for slot, path in enumerate((vhd, qcow2)):
        backend.add_device(vm.id, Drive(controller_id=ide.id, slot=slot, media=Media(path=str(path))))
    for slot, path in enumerate((disguised, raw)):
        backend.add_device(vm.id, Drive(controller_id=vm.controllers[1].id, slot=slot, media=Media(path=str(path))))
    # A VHD runs on its qcow2 working copy: QEMU's VHD driver cannot save or migrate.
    copy = f"{vhd}.qcow2"
    assert driver_formats(vm.id) == {copy: "qcow2", str(qcow2): "qcow2", str(disguised): "qcow2", str(raw): "raw"}
    assert qemu_compare(vhd, "vpc", Path(copy), "qcow2")


def test_a_raw_disk_stays_raw_whatever_its_guest_writes_into_it(backend: LibvirtBackend, storage: Path) -> None:
    """A guest owns its raw disk's bytes: one that writes a qcow2 header
    there, naming another VM's disk as its backing file, must not have its
    disk read as qcow2 when the VM's definition is written again — QEMU
    would then open that other disk for it."""
    raw = image(storage / "guest.img", "raw")
    other = image(storage / "other-vm.img", "raw")
    vm = new_vm(backend, "raw-guest")
    backend.add_device(vm.id, Drive(controller_id=vm.controllers[0].id, media=Media(path=str(raw))))
    assert driver_formats(vm.id) == {str(raw): "raw"}

    header = storage / "header.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(other), "-F", "raw", str(header), "4M"],
                   check=True)
    with open(raw, "r+b") as disk:  # what the guest writes over its first sectors
        disk.write(header.read_bytes())
    header.unlink()
    probed = subprocess.run(["qemu-img", "info", "--output=json", str(raw)], capture_output=True, text=True, check=True)
    assert json.loads(probed.stdout)["format"] == "qcow2"  # as a prober now reads it

    # The definition written again (a second disk added): the first is still raw.
    backend.add_device(vm.id, Drive(controller_id=vm.controllers[0].id, slot=1,
                                    media=Media(path=str(image(storage / "data.qcow2", "qcow2")))))
    assert driver_formats(vm.id) == {str(raw): "raw", str(storage / "data.qcow2"): "qcow2"}


def test_a_vhdx_disk_is_converted_to_qcow2_and_the_vm_runs_on_the_copy(backend: LibvirtBackend, storage: Path) -> None:
    vhdx = image(storage / "system.vhdx", "vhdx", "8M")
    qemu_io(vhdx, "vhdx", "write -P 0x5a 1M 1M")
    vm = new_vm(backend, "from-vhdx")
    drive = backend.add_device(vm.id, Drive(controller_id=vm.controllers[0].id, media=Media(path=str(vhdx))))
    copy = Path(drive.media.path)  # type: ignore[union-attr]
    assert copy == storage / "system.vhdx.qcow2"
    assert qemu_info(copy, "qcow2")["virtual-size"] == 8 * 1024 * 1024
    assert qemu_compare(vhdx, "vhdx", copy, "qcow2")
    assert driver_formats(vm.id) == {str(copy): "qcow2"}
    assert backend.get_vm(vm.id).drives[0].media == drive.media  # what the model shows is what libvirt holds

    # Attached again (another VM), the copy is reused while it is newer than the source.
    made = copy.stat().st_mtime_ns
    other = new_vm(backend, "again")
    again = backend.add_device(other.id, Drive(controller_id=other.controllers[0].id, media=Media(path=str(vhdx))))
    assert again.media.path == str(copy) and copy.stat().st_mtime_ns == made  # type: ignore[union-attr]


def test_a_vhdx_disk_that_does_not_exist_is_refused(backend: LibvirtBackend, storage: Path) -> None:
    vm = new_vm(backend, "missing")
    with pytest.raises(InvalidParameterError, match="media.path.*no such file"):
        backend.add_device(vm.id, Drive(controller_id=vm.controllers[0].id, media=Media(path=str(storage / "gone.vhdx"))))
    assert backend.get_vm(vm.id).drives == ()


def test_a_vhdx_disk_outside_the_roots_of_a_domain_defined_elsewhere_is_not_converted(
    backend: LibvirtBackend, storage: Path, tmp_path: Path
) -> None:
    """A domain changed behind the server's back to hold a VHDX outside the
    storage roots: changing the VM is refused, naming the file, and no
    qcow2 copy is written beside it."""
    (tmp_path / "elsewhere").mkdir()
    outside = image(tmp_path / "elsewhere" / "system.vhdx", "vhdx")
    vm = new_vm(backend, "elsewhere")
    conn = libvirt.open("test:///default")
    domain = conn.lookupByUUID(vm.id.bytes)
    xml = etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    xml.find("devices").append(etree.fromstring(
        f"<disk type='file' device='disk'><source file='{outside}'/><target dev='hda' bus='ide'/></disk>"))
    conn.defineXML(etree.tostring(xml, encoding="unicode"))
    with pytest.raises(InvalidParameterError, match=f"{outside}.*leaves the storage roots"):
        backend.modify_vm(vm.id, backend.get_vm(vm.id).settings.replace(notes="changed"))
    assert sorted(p.name for p in outside.parent.iterdir()) == ["system.vhdx"]
