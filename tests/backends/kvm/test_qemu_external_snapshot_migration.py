"""Live migration of a running KVM guest with an external snapshot, on
real QEMU with two libvirtd instances (as test_qemu_migration): the
counting guest runs on a raw disk, so its standard snapshot freezes the
disk under a qcow2 overlay and keeps the guest's memory in a file. It
moves live: the frozen disk and the memory file travel beside the disk
through the upload channel, the destination makes the overlay on the
placed frozen disk, and libvirt copies only the overlay. The guest never
stops counting; the destination lists the snapshot over CIM, its files
sit beside the placed disk (the memory in the destination's own memory
folder), the source keeps no file of the VM; applying the snapshot there
brings back the count from when it was taken. The check said beforehand
that it could move."""

from __future__ import annotations

from pathlib import Path

from migration_support import (
    RUNNING, SAVED, assert_counts_on, change_state, counting_guest, current_disk, move_after_check, new_image,
    placed, resumed_from, snapshots_of, storage_roots, take_while_counting, two_hosts,
)
from qemu_host import Host, host, libvirtd_in_use, shared_host  # noqa: F401 (fixtures)
from tests.integration.migration.two_hosts import exists
from tests.integration.model.hyperv import state


def test_a_running_guest_moves_live_with_its_external_snapshot(host: Host, tmp_path: Path):
    a_root, b_root = storage_roots(host, "ext-host-a", "ext-host-b")
    disk = new_image(a_root / "plain.raw", "raw")
    domain, console, vm = counting_guest(host, "external-live", disk, "raw")

    with two_hosts(host, tmp_path, a_root, b_root) as hosts:
        a_conn, b_conn = hosts.a_conn, hosts.b_conn
        taken = take_while_counting(a_conn, vm, console)
        (snapshot_name,) = snapshots_of(a_conn, vm)
        overlay = current_disk(domain)
        assert overlay.parent == a_root and overlay != disk, overlay
        memory = list((tmp_path / "a-data" / "snapshot-memory").iterdir())
        assert len(memory) == 1

        target = b_root / "moved" / overlay.name
        move_after_check(a_conn, vm, placed(a_conn, vm, overlay, target))
        assert state(b_conn, vm) == RUNNING and not exists(a_conn, vm)
        moved = hosts.on_b(domain)
        assert moved.isActive() and moved.isPersistent() and moved.snapshotNum(0) == 1
        assert sorted(p.name for p in target.parent.iterdir()) == sorted([disk.name, overlay.name])
        assert list(a_root.iterdir()) == [] and list((tmp_path / "a-data" / "snapshot-memory").iterdir()) == []
        assert [p.name for p in (tmp_path / "b-data" / "snapshot-memory").iterdir()] == [memory[0].name]
        assert set(snapshots_of(b_conn, vm)) == {snapshot_name}
        assert_counts_on(console)

        change_state(b_conn, vm, SAVED)
        resumed, last = resumed_from(b_conn, vm, snapshots_of(b_conn, vm)[snapshot_name].path, console)
        assert taken.before < resumed <= taken.after + 1 < last, (taken.before, resumed, taken.after, last)
        assert console.read_bytes().count(b"guest: ready") == 1
