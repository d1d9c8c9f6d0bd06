"""Destroying a snapshot merges its disk where Hyper-V would: the disk made
when it was taken is merged into the disk it froze when nothing else reads
through that one, and readers move onto the merged disk. What every
remaining reader sees is unchanged, checked with qemu-io and libvhdi."""

from __future__ import annotations

from pathlib import Path

from tests.backends.images.readers import qemu_io, read_with_libvhdi, vhdiinfo
from tests.backends.test_snapshots import MIB, backend, disk, disk_of, harness, vm_with_disk, write  # noqa: F401 - fixtures

__all__ = ["backend", "disk"]


def test_destroying_the_only_snapshot_merges_the_vm_back_into_its_disk(backend, disk: Path, tmp_path: Path) -> None:
    vm_id = vm_with_disk(backend, disk)
    snapshot = backend.create_snapshot(vm_id, "only")
    child = disk_of(backend, vm_id)
    write(child, MIB, 0x0b)
    backend.destroy_snapshot(snapshot.id)
    assert disk_of(backend, vm_id) == disk and not child.exists()
    qemu_io(disk, "vpc", "read -P 0x0a 0 1M", "read -P 0x0b 1M 256k")
    assert read_with_libvhdi(disk, tmp_path / "mnt", MIB, 256 * 1024) == bytes([0x0b]) * 256 * 1024


def test_a_middle_snapshot_merges_into_the_next_and_the_chain_stays_readable(backend, disk: Path, tmp_path: Path) -> None:
    vm_id = vm_with_disk(backend, disk)
    first = backend.create_snapshot(vm_id, "first")
    write(disk_of(backend, vm_id), MIB, 0x0b)
    second = backend.create_snapshot(vm_id, "second")
    write(disk_of(backend, vm_id), 2 * MIB, 0x0c)
    third = backend.create_snapshot(vm_id, "third")
    write(disk_of(backend, vm_id), 3 * MIB, 0x0d)
    before = [Path(p) for p in second.frozen_disks + third.frozen_disks]

    backend.destroy_snapshot(second.id)
    third_now = backend.get_snapshot(third.id)
    assert third_now.frozen_disks == second.frozen_disks  # the next disk was merged into second's
    assert before[0].exists() and not before[1].exists()
    current = disk_of(backend, vm_id)
    assert vhdiinfo(current)["Disk type"] == "Differential"
    merged = read_with_libvhdi(Path(third_now.frozen_disks[0]), tmp_path / "mnt0", 0, 4 * MIB)
    assert [merged[i * MIB] for i in range(4)] == [0x0a, 0x0b, 0x0c, 0]
    data = read_with_libvhdi(current, tmp_path / "mnt", 0, 4 * MIB)
    assert [data[i * MIB] for i in range(4)] == [0x0a, 0x0b, 0x0c, 0x0d]

    # Applying the snapshot that now freezes the merged disk restores its content.
    backend.apply_snapshot(third.id)
    data = read_with_libvhdi(disk_of(backend, vm_id), tmp_path / "mnt2", 0, 4 * MIB)
    assert [data[i * MIB] for i in range(4)] == [0x0a, 0x0b, 0x0c, 0]
    assert backend.get_snapshot(first.id).frozen_disks == (str(disk),)


def test_a_disk_two_branches_read_is_not_merged(backend, disk: Path) -> None:
    vm_id = vm_with_disk(backend, disk)
    first = backend.create_snapshot(vm_id, "first")
    second = backend.create_snapshot(vm_id, "second")
    backend.apply_snapshot(first.id)  # now disk is read by second's frozen disk and the VM's new child
    kept = Path(second.frozen_disks[0])
    backend.destroy_snapshot(first.id)
    assert kept.exists() and disk.exists()
    assert Path(backend.get_snapshot(second.id).frozen_disks[0]) == kept
