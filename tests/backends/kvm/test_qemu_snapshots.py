"""Tier 2: snapshots on real QEMU, disk content read back with qemu-io.

A qcow2 VM gets internal snapshots (libvirt's revert restores the data),
and so does a VHD VM, which runs on a qcow2 working copy; a raw VM gets
external ones (the raw disk is frozen under a qcow2 overlay, and applying
gives the VM a fresh overlay). Data is written after the snapshot
with qemu-io on the stopped VM's current disk, the snapshot applied, and
the data must be gone. QEMU then starts on what the VM was given."""

from __future__ import annotations

import re

import shutil
import subprocess
import tempfile
from pathlib import Path

import libvirt
import pytest

from cimprovider.backends import InvalidParameterError, change_power_state
from cimprovider.schemas import Drive, Media, PowerRequest, PowerState, SystemSettings
from qemu_host import Host, host, libvirtd_in_use, shared_host  # noqa: F401 (fixtures)
from tests.support.untouched import assert_untouched, fingerprint

MIB = 1024 * 1024


def qemu_io(path: Path, fmt: str, command: str) -> str:
    result = subprocess.run(["qemu-io", "-f", fmt, "-c", command, str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "Pattern verification failed" not in result.stdout, result.stdout + result.stderr
    return result.stdout


def backing_of(path: Path) -> str | None:
    import json

    info = subprocess.run(["qemu-img", "info", "-U", "--output=json", str(path)], capture_output=True, text=True, check=True)
    return json.loads(info.stdout).get("backing-filename")


def vm_on(host: Host, disk: Path, name: str):  # type: ignore[no-untyped-def]
    vm = host.backend.define_vm(SystemSettings(name=f"{host.tag}-{name}"))
    host.domains.append(vm.name)
    host.backend.add_device(vm.id, Drive(controller_id=vm.controllers[0].id, media=Media(path=str(disk))))
    return vm


def test_a_qcow2_vm_reverts_its_disk_to_an_internal_snapshot(host: Host) -> None:
    disk = host.workdir / "internal.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    qemu_io(disk, "qcow2", "write -P 0x0a 0 1M")
    backend = host.backend
    vm = vm_on(host, disk, "internal")
    snapshot = backend.create_snapshot(vm.id, "before")
    assert snapshot.frozen_disks == () and backend.get_vm(vm.id).drives[0].media.path == str(disk)  # type: ignore[union-attr]
    assert "before" not in subprocess.run(["qemu-img", "snapshot", "-l", str(disk)], capture_output=True, text=True).stdout
    assert str(snapshot.id) in subprocess.run(["qemu-img", "snapshot", "-U", "-l", str(disk)], capture_output=True, text=True).stdout

    qemu_io(disk, "qcow2", "write -P 0xee 0 1M")
    assert backend.apply_snapshot(snapshot.id).power_state is PowerState.OFF
    qemu_io(disk, "qcow2", "read -P 0x0a 0 1M")

    assert change_power_state(backend, vm.id, PowerRequest.START).power_state is PowerState.RUNNING
    change_power_state(backend, vm.id, PowerRequest.STOP)
    backend.destroy_snapshot(snapshot.id)
    assert backend.list_snapshots(vm.id) == []
    assert str(snapshot.id) not in subprocess.run(["qemu-img", "snapshot", "-l", str(disk)], capture_output=True, text=True).stdout


def test_a_raw_vm_is_frozen_under_an_overlay_and_applying_gives_it_a_fresh_one(host: Host) -> None:
    disk = host.workdir / "system.img"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(disk), "16M"], check=True)
    qemu_io(disk, "raw", "write -P 0x0a 0 1M")
    backend = host.backend
    vm = vm_on(host, disk, "external")
    media_id = vm.drives[0].media.id if vm.drives else backend.get_vm(vm.id).drives[0].media.id  # type: ignore[union-attr]
    snapshot = backend.create_snapshot(vm.id, "frozen")
    assert snapshot.frozen_disks == (str(disk),) and snapshot.vm.drives[0].media.path == str(disk)  # type: ignore[union-attr]
    moved = backend.get_vm(vm.id).drives[0].media
    overlay = Path(moved.path)  # type: ignore[union-attr]
    assert overlay != disk and overlay.suffix == ".qcow2" and backing_of(overlay) == str(disk)
    assert moved.id == media_id  # type: ignore[union-attr]

    qemu_io(overlay, "qcow2", "write -P 0xee 0 1M")
    qemu_io(disk, "raw", "read -P 0x0a 0 1M")  # the frozen disk never changes
    assert backend.apply_snapshot(snapshot.id).power_state is PowerState.OFF
    fresh = Path(backend.get_vm(vm.id).drives[0].media.path)  # type: ignore[union-attr]
    assert fresh not in (disk, overlay) and backing_of(fresh) == str(disk)
    assert not overlay.exists()  # nothing reads what was written since
    qemu_io(fresh, "qcow2", "read -P 0x0a 0 1M")
    position = backend.snapshot_position(vm.id)
    assert position.current_id == position.last_applied_id == snapshot.id

    # QEMU runs the VM on the overlay over the raw disk.
    assert change_power_state(backend, vm.id, PowerRequest.START).power_state is PowerState.RUNNING
    change_power_state(backend, vm.id, PowerRequest.STOP)
    qemu_io(fresh, "qcow2", "write -P 0x77 2M 1M")  # written after the apply: kept
    backend.destroy_snapshot(snapshot.id)
    # Nothing reads the raw disk but the VM: the overlay is committed into it.
    assert backend.list_snapshots(vm.id) == [] and not fresh.exists()
    assert backend.get_vm(vm.id).drives[0].media.path == str(disk)  # type: ignore[union-attr]
    qemu_io(disk, "raw", "read -P 0x0a 0 1M")
    qemu_io(disk, "raw", "read -P 0x77 2M 1M")
    assert change_power_state(backend, vm.id, PowerRequest.START).power_state is PowerState.RUNNING
    change_power_state(backend, vm.id, PowerRequest.STOP)


def test_a_disk_outside_the_storage_roots_is_neither_snapshotted_nor_read(host: Host) -> None:
    """A domain changed behind the server's back (virsh edit) to run on a
    VHD outside the storage roots: the server refuses to freeze it under an
    overlay (which it would write beside it) and never opens the file, even
    to tell its format when it rewrites the domain."""
    inside = host.workdir / "inside.vhd"
    subprocess.run(["qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic", str(inside), "16M"], check=True)
    outside_folder = Path(tempfile.mkdtemp(prefix="cimprovider-outside-"))
    try:
        outside = outside_folder / "system.vhd"
        shutil.copyfile(inside, outside)
        vm = vm_on(host, inside, "outside")
        domain = host.conn.lookupByUUID(vm.id.bytes)
        # virsh edit: the disk becomes the outside VHD itself, run by QEMU's VHD driver.
        edited = re.sub(r"<source file='[^']*'", f"<source file='{outside}'",
                        domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), count=1)
        host.conn.defineXML(re.sub(r"(<driver name='qemu' type=)'[a-z0-9]+'", r"\1'vpc'", edited, count=1))
        before = fingerprint(outside)
        with pytest.raises(InvalidParameterError, match=f"{outside}.*leaves the storage roots"):
            host.backend.create_snapshot(vm.id, "refused")
        host.backend.modify_vm(vm.id, host.backend.get_vm(vm.id).settings.replace(notes="renamed elsewhere"))
        assert domain.snapshotNum(0) == 0
        assert sorted(outside_folder.iterdir()) == [outside]
        assert_untouched(outside, before)
        assert "type='vpc'" in host.conn.lookupByUUID(vm.id.bytes).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    finally:
        shutil.rmtree(outside_folder)


def test_a_snapshot_of_a_running_vm_applied_and_started_runs(host: Host) -> None:
    disk = host.workdir / "memory.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    backend = host.backend
    vm = vm_on(host, disk, "running-snapshot")
    assert change_power_state(backend, vm.id, PowerRequest.START).power_state is PowerState.RUNNING
    snapshot = backend.create_snapshot(vm.id, "running")
    assert snapshot.has_saved_state
    change_power_state(backend, vm.id, PowerRequest.STOP)
    assert backend.apply_snapshot(snapshot.id).power_state is PowerState.SAVED
    assert change_power_state(backend, vm.id, PowerRequest.START).power_state is PowerState.RUNNING
    domain = host.conn.lookupByUUID(vm.id.bytes)
    assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING, domain.state()
    change_power_state(backend, vm.id, PowerRequest.STOP)


def test_a_vm_on_a_vhd_saves_and_snapshots_with_its_memory(host: Host) -> None:
    disk = host.workdir / "saved.vhd"
    subprocess.run(["qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic", str(disk), "16M"], check=True)
    qemu_io(disk, "vpc", "write -P 0x0a 0 1M")
    backend = host.backend
    vm = vm_on(host, disk, "vhd-save")
    copy = Path(backend.get_vm(vm.id).drives[0].media.path)  # type: ignore[union-attr]
    assert copy == disk.with_name("saved.vhd.qcow2")
    qemu_io(copy, "qcow2", "read -P 0x0a 0 1M")
    assert change_power_state(backend, vm.id, PowerRequest.START).power_state is PowerState.RUNNING
    assert change_power_state(backend, vm.id, PowerRequest.SAVE).power_state is PowerState.SAVED
    assert change_power_state(backend, vm.id, PowerRequest.START).power_state is PowerState.RUNNING
    snapshot = backend.create_snapshot(vm.id, "with memory")
    assert snapshot.has_saved_state and snapshot.frozen_disks == ()
    change_power_state(backend, vm.id, PowerRequest.STOP)
    assert backend.apply_snapshot(snapshot.id).power_state is PowerState.SAVED
    assert change_power_state(backend, vm.id, PowerRequest.START).power_state is PowerState.RUNNING
    change_power_state(backend, vm.id, PowerRequest.STOP)


def test_a_running_vm_without_disks_or_on_raw_snapshots_with_its_memory(host: Host) -> None:
    backend = host.backend
    diskless = backend.define_vm(SystemSettings(name=f"{host.tag}-diskless"))
    host.domains.append(diskless.name)
    raw = host.workdir / "memory.img"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(raw), "16M"], check=True)
    on_raw = vm_on(host, raw, "raw-memory")
    for vm in (diskless, on_raw):
        assert change_power_state(backend, vm.id, PowerRequest.START).power_state is PowerState.RUNNING
        snapshot = backend.create_snapshot(vm.id, "running")
        assert snapshot.has_saved_state, vm.name
        assert backend.get_vm(vm.id).power_state is PowerState.RUNNING
        change_power_state(backend, vm.id, PowerRequest.STOP)
        assert backend.apply_snapshot(snapshot.id).power_state is PowerState.SAVED
        assert change_power_state(backend, vm.id, PowerRequest.START).power_state is PowerState.RUNNING
        domain = host.conn.lookupByUUID(vm.id.bytes)
        assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        memory = host.config.data_dir / "snapshot-memory" / f"{vm.id}-{snapshot.id}.save"
        assert memory.is_file()
        change_power_state(backend, vm.id, PowerRequest.STOP)
        backend.destroy_snapshot(snapshot.id)
        assert backend.list_snapshots(vm.id) == [] and not memory.exists()
