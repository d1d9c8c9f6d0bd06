"""The snapshot contract (`SnapshotBackend`), for the backends that keep
snapshots: a snapshot freezes the VM's VHD disks and moves the VM onto
differencing children; applying one restores settings and disk content;
destroying one re-parents its children and deletes only the files nothing
reads. Disk content is read back with libvhdi and qemu-io, not our reader."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from cimprovider.backends import Backend, InvalidStateError, NotFoundError, SnapshotBackend, change_power_state
from cimprovider.backends.images import StorageRoots, VhdChain
from cimprovider.schemas import Drive, Media, PowerRequest, PowerState
from cimprovider.schemas.snapshots import SnapshotKind
from tests.backends.backend_scenarios import new_vm
from tests.backends.conftest import BackendHarness
from tests.backends.images.readers import qemu_io, read_with_libvhdi, vhdiinfo

MIB = 1024 * 1024


@pytest.fixture(params=["simulated"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BackendHarness]:
    """The backends whose snapshots are VHD differencing chains. libvirt
    freezes a disk under a qcow2 overlay instead, which its test driver
    cannot take: its snapshot tree runs in test_snapshot_tree.py, its disk
    content on QEMU in kvm/test_qemu_snapshots.py."""
    harness = BackendHarness(request.param, tmp_path / "data")
    yield harness
    harness.close_all()


@pytest.fixture
def backend(harness) -> Backend:
    opened = harness.open()
    assert isinstance(opened, SnapshotBackend)
    return opened


@pytest.fixture
def disk(harness) -> Path:
    root = harness.config.storage_roots[0]
    root.mkdir(parents=True, exist_ok=True)
    path = root / "system.vhd"
    subprocess.run(["qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic,force_size=on", str(path), "4M"], check=True)
    qemu_io(path, "vpc", "write -P 0x0a 0 1M")
    return path


def vm_with_disk(backend: Backend, disk: Path, name: str = "snap-vm") -> UUID:
    vm = new_vm(backend, name)
    backend.add_device(vm.id, Drive(controller_id=vm.controllers[0].id, media=Media(path=str(disk))))
    return vm.id


def disk_of(backend: Backend, vm_id: UUID) -> Path:
    return Path(backend.get_vm(vm_id).drives[0].media.path)  # type: ignore[union-attr]


def write(path: Path, offset: int, byte: int, length: int = 256 * 1024) -> None:
    """What the guest writes, through the chain, into the disk it runs on."""
    with VhdChain.open(path, StorageRoots([path.parent]), writable={0}) as chain:
        chain.write(offset, bytes([byte]) * length)


def test_a_snapshot_moves_the_vm_onto_a_child_of_the_frozen_disk(backend, disk: Path, tmp_path: Path) -> None:
    vm_id = vm_with_disk(backend, disk)
    snapshot = backend.create_snapshot(vm_id, "first")
    child = disk_of(backend, vm_id)
    assert child != disk and child.parent == disk.parent and child.suffix == ".avhd"
    info = vhdiinfo(child)
    assert info["Disk type"] == "Differential" and info["Parent filename"] == "system.vhd"
    assert snapshot.vm.drives[0].media.path == str(disk) and snapshot.frozen_disks == (str(disk),)
    assert (snapshot.name, snapshot.parent_id, snapshot.has_saved_state) == ("first", None, False)
    assert backend.snapshot_position(vm_id).current_id == snapshot.id
    assert read_with_libvhdi(child, tmp_path / "mnt", 0, MIB) == b"\x0a" * MIB


def test_applying_restores_settings_and_disk_content(backend, disk: Path, tmp_path: Path) -> None:
    vm_id = vm_with_disk(backend, disk)
    snapshot = backend.create_snapshot(vm_id)
    written_on = disk_of(backend, vm_id)
    write(written_on, 0, 0xee)
    backend.modify_vm(vm_id, backend.get_vm(vm_id).settings.replace(notes="changed after the snapshot"))
    restored = backend.apply_snapshot(snapshot.id)
    assert restored.notes == () and restored.power_state is PowerState.OFF
    fresh = disk_of(backend, vm_id)
    assert fresh not in (written_on, disk) and not written_on.exists()  # nothing reads it any more
    assert read_with_libvhdi(fresh, tmp_path / "mnt", 0, MIB) == b"\x0a" * MIB
    qemu_io(disk, "vpc", "read -P 0x0a 0 1M", "read -P 0 1M 3M")  # the frozen disk never changed
    position = backend.snapshot_position(vm_id)
    assert position.current_id == position.last_applied_id == snapshot.id


def test_apply_needs_the_vm_off_or_saved_and_a_running_snapshot_comes_back_saved(backend, disk: Path) -> None:
    vm_id = vm_with_disk(backend, disk)
    change_power_state(backend, vm_id, PowerRequest.START)
    snapshot = backend.create_snapshot(vm_id)
    assert snapshot.has_saved_state and backend.get_vm(vm_id).power_state is PowerState.RUNNING
    with pytest.raises(InvalidStateError):
        backend.apply_snapshot(snapshot.id)
    change_power_state(backend, vm_id, PowerRequest.STOP)
    assert backend.apply_snapshot(snapshot.id).power_state is PowerState.SAVED
    production = backend.create_snapshot(vm_id, kind=SnapshotKind.PRODUCTION)
    assert not production.has_saved_state


def test_destroying_re_parents_children_and_keeps_what_is_read(backend, disk: Path) -> None:
    vm_id = vm_with_disk(backend, disk)
    first = backend.create_snapshot(vm_id, "first")
    second = backend.create_snapshot(vm_id, "second")
    third = backend.create_snapshot(vm_id, "third")
    assert (second.parent_id, third.parent_id) == (first.id, second.id)
    backend.destroy_snapshot(second.id)
    assert backend.get_snapshot(third.id).parent_id == first.id
    # second's disk had one reader (third's): they were merged, so third now
    # freezes second's file, and the current disk still reads through all.
    for path in [disk, *map(Path, backend.get_snapshot(third.id).frozen_disks), disk_of(backend, vm_id)]:
        assert path.exists()
    backend.destroy_snapshot(first.id, tree=True)
    assert backend.list_snapshots(vm_id) == [] and backend.snapshot_position(vm_id).current_id is None
    assert disk.exists()  # a disk the client gave is never deleted
    with pytest.raises(NotFoundError):
        backend.get_snapshot(third.id)


def test_snapshots_survive_a_restart_and_go_with_their_vm(harness, backend, disk: Path) -> None:
    vm_id = vm_with_disk(backend, disk)
    snapshot = backend.create_snapshot(vm_id, "kept")
    backend.rename_snapshot(snapshot.id, "renamed")
    backend.close()
    reopened = harness.open()
    assert [s.name for s in reopened.list_snapshots(vm_id)] == ["renamed"]
    assert reopened.snapshot_position(vm_id).current_id == snapshot.id
    reopened.destroy_vm(vm_id)
    assert reopened.list_snapshots(vm_id) == []
