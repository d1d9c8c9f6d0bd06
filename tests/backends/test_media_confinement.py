"""A drive's medium must be an image file inside the storage roots, on
every backend: a host file, a path that climbs out with `..`, a symlink
that points out, a device node, a missing file, or an image whose backing
file lies outside are all refused with an error naming the path, and the
VM (and on libvirt, the domain XML) is left without them. An image that
reads through another file is taken only under its format's name: a raw
disk's guest can write such a header. An empty DVD drive needs no medium."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from backend_scenarios import new_vm
from conftest import BackendHarness
from cimprovider.backends import Backend, InvalidParameterError
from cimprovider.backends.images.vhd_chain import create_differencing
from cimprovider.schemas import Controller, ControllerType, Drive, DriveType, Media, SystemSettings
from tests.support.untouched import assert_untouched, fingerprint


def _outside_file(harness: BackendHarness) -> Path:
    outside = harness.storage.parent.parent / "outside"
    outside.mkdir(exist_ok=True)
    secret = outside / "secret.img"
    secret.write_bytes(b"host secret" * 100)
    return secret


def _refused_paths(harness: BackendHarness) -> dict[str, str]:
    secret = _outside_file(harness)
    harness.storage.mkdir(parents=True, exist_ok=True)
    link = harness.storage / "link.img"
    if not link.is_symlink():
        link.symlink_to(secret)
    return {
        "host file": "/etc/shadow",
        "dot-dot": f"{harness.storage}/../../outside/{secret.name}",
        "symlink out": str(link),
        "device": "/dev/null",
        "missing": str(harness.storage / "missing.vhdx"),
        "relative": "disk.vhdx",
        "folder": str(harness.storage),
    }


CASES = ["host file", "dot-dot", "symlink out", "device", "missing", "relative", "folder"]


@pytest.mark.parametrize("case", CASES)
def test_a_disk_outside_the_roots_is_refused(harness: BackendHarness, backend: Backend, case: str) -> None:
    path = _refused_paths(harness)[case]
    vm = new_vm(backend)
    scsi = backend.add_device(vm.id, Controller(controller_type=ControllerType.SCSI))
    before = backend.get_vm(vm.id)
    with pytest.raises(InvalidParameterError) as refused:
        backend.add_device(vm.id, Drive(controller_id=scsi.id, media=Media(path=path)))
    assert refused.value.field == "media.path" and path in str(refused.value)
    assert backend.get_vm(vm.id) == before
    _assert_not_in_libvirt(harness, vm.id, path)


@pytest.mark.parametrize("case", CASES)
def test_a_dvd_outside_the_roots_is_refused_but_an_empty_drive_is_fine(
    harness: BackendHarness, backend: Backend, case: str
) -> None:
    path = _refused_paths(harness)[case]
    vm = new_vm(backend)
    dvd = backend.add_device(vm.id, Drive(controller_id=vm.controllers[1].id, slot=0, drive_type=DriveType.DVD))
    assert dvd.media is None
    with pytest.raises(InvalidParameterError, match="media.path") as refused:
        backend.modify_device(vm.id, dvd.replace(media=Media(path=path, read_only=True)))
    assert path in str(refused.value)
    assert backend.get_vm(vm.id).drives == (dvd,)
    _assert_not_in_libvirt(harness, vm.id, path)


def test_a_vm_defined_with_an_outside_disk_is_not_defined(harness: BackendHarness, backend: Backend) -> None:
    scsi = Controller(controller_type=ControllerType.SCSI)
    drive = Drive(controller_id=scsi.id, media=Media(path="/etc/shadow"))
    with pytest.raises(InvalidParameterError, match="/etc/shadow"):
        backend.define_vm(SystemSettings(name="defined-outside"), [scsi, drive])
    assert "defined-outside" not in [vm.name for vm in backend.list_vms()]


def test_an_image_whose_backing_file_is_outside_is_refused(harness: BackendHarness, backend: Backend) -> None:
    base = _outside_file(harness).with_name("base.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "1M"], check=True)
    harness.storage.mkdir(parents=True, exist_ok=True)
    child = harness.storage / "child.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(child)], check=True)
    before = fingerprint(base)
    vm = new_vm(backend)
    with pytest.raises(InvalidParameterError, match=str(base)):
        backend.add_device(vm.id, Drive(controller_id=vm.controllers[0].id, media=Media(path=str(child))))
    assert_untouched(base, before)
    _assert_not_in_libvirt(harness, vm.id, str(child))


def _guest_written_qcow2_header(disk: Path, *options: str) -> None:
    """What a guest can write over its raw disk's first sectors: the header
    of a qcow2 image made with `options` (a backing file, a data file)."""
    header = disk.with_name("header.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", *options, str(header), "1M"], check=True)
    with open(disk, "r+b") as raw:
        raw.write(header.read_bytes())
    header.unlink()


@pytest.mark.parametrize("link", ["backing file", "data file"])
def test_a_raw_disk_its_guest_made_read_through_another_vms_disk_is_not_attached_afresh(
    harness: BackendHarness, backend: Backend, link: str
) -> None:
    """A guest wrote a qcow2 header into its raw disk naming another VM's
    disk (inside the roots): attached to another VM, the disk would be read
    as that qcow2 and QEMU would open the other VM's disk for its guest.
    Refused, naming the file it reads through and the way out; the same
    image under a .qcow2 name (what an admin gives a real qcow2) is taken."""
    victim = Path(harness.medium("victim.img"))
    guest_disk = Path(harness.medium("guest.img"))
    options = {"backing file": ["-b", str(victim), "-F", "raw"],
               "data file": ["-o", f"data_file={victim},data_file_raw=on"]}[link]
    _guest_written_qcow2_header(guest_disk, *options)
    if link == "data file":
        victim.write_bytes(bytes(1024 * 1024))  # qemu-img sized the data file to the image: the victim's disk again
    before = fingerprint(victim)
    vm = new_vm(backend)
    with pytest.raises(InvalidParameterError) as refused:
        backend.add_device(vm.id, Drive(controller_id=vm.controllers[0].id, media=Media(path=str(guest_disk))))
    assert refused.value.field == "media.path"
    assert f"reads through the {link} '{victim}'" in str(refused.value) and "does not end in .qcow2" in str(refused.value)
    assert backend.get_vm(vm.id).drives == ()
    _assert_not_in_libvirt(harness, vm.id, str(guest_disk))
    assert_untouched(victim, before)

    named = guest_disk.rename(guest_disk.with_suffix(".qcow2"))
    drive = backend.add_device(vm.id, Drive(controller_id=vm.controllers[0].id, media=Media(path=str(named))))
    assert drive.media is not None and drive.media.path == str(named)


def test_a_differencing_vhd_is_attached_only_under_a_vhd_name(harness: BackendHarness, backend: Backend) -> None:
    parent = Path(harness.medium("parent.vhd"))
    subprocess.run(["qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic", str(parent), "1M"], check=True)
    child = harness.storage / "child.img"
    create_differencing(child, parent)
    vm = new_vm(backend)
    with pytest.raises(InvalidParameterError, match=r"is a VHD image that reads through the parent .*does not end in "
                                                   r"\.vhd or \.avhd"):
        backend.add_device(vm.id, Drive(controller_id=vm.controllers[0].id, media=Media(path=str(child))))
    assert backend.get_vm(vm.id).drives == ()
    _assert_not_in_libvirt(harness, vm.id, str(child))


def test_a_device_node_inside_the_roots_is_refused(harness: BackendHarness, backend: Backend) -> None:
    harness.storage.mkdir(parents=True, exist_ok=True)
    node = harness.storage / "null.img"
    try:
        os.mknod(node, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.fail("this test needs to make a device node (it runs as root in CI)")
    vm = new_vm(backend)
    with pytest.raises(InvalidParameterError, match="not a regular file"):
        backend.add_device(vm.id, Drive(controller_id=vm.controllers[0].id, media=Media(path=str(node))))


def test_media_inside_the_roots_are_attached_and_kept_when_the_drive_moves(harness: BackendHarness, backend: Backend) -> None:
    vm = new_vm(backend)
    disk = backend.add_device(vm.id, Drive(controller_id=vm.controllers[0].id, slot=0, media=Media(path=harness.medium("a.img"))))
    assert disk.media is not None and disk.media.path == str(harness.storage / "a.img")
    dvd = backend.add_device(vm.id, Drive(controller_id=vm.controllers[1].id, slot=0, drive_type=DriveType.DVD))
    inserted = backend.modify_device(vm.id, dvd.replace(media=Media(path=harness.medium("isos/setup.iso"), read_only=True)))
    assert inserted.media is not None and inserted.media.path.endswith("isos/setup.iso")
    # The file may go away later; moving the drive does not re-check it.
    (harness.storage / "a.img").unlink()
    moved = backend.modify_device(vm.id, disk.replace(slot=1))
    assert moved.slot == 1  # type: ignore[union-attr]


def _assert_not_in_libvirt(harness: BackendHarness, vm_id: object, path: str) -> None:
    if harness.name != "libvirt":
        return
    import libvirt

    conn = libvirt.open("test:///default")
    try:
        domain = conn.lookupByUUIDString(str(vm_id))
        assert path not in domain.XMLDesc(0)
    finally:
        conn.close()
