"""Off and saved KVM VMs with external snapshots move between two KVM
hosts as files (as test_qemu_offline_migration), on real QEMU with two
libvirtd instances. The VM runs on a raw disk, so each standard snapshot
freezes the disk under a qcow2 overlay (and, taken while the guest runs,
keeps its memory in a file). The frozen disk and the overlays land beside
the placed disk, each reading through its placed parent; a memory file
lands in the destination's own memory folder. The destination lists the
snapshots over CIM with their tree, applying one gives back the disk (and
the counting guest's tick) of its time, the source keeps no file of the
VM, and the check said beforehand that it could move."""

from __future__ import annotations

from pathlib import Path

from migration_support import (
    OFF, SAVED, apply, backing_of, change_state, cim_name, counting_guest, current_disk, guest_on, move_after_check,
    new_image, parent_name, placed, reads, resumed_from, snapshots_by_id, storage_roots, take_while_counting,
    two_hosts, write,
)
from qemu_host import Host, host, libvirtd_in_use, shared_host  # noqa: F401 (fixtures)
from tests.integration.migration.two_hosts import exists
from tests.integration.model.hyperv import state
from tests.integration.storage.snapshots_client import take


def test_an_off_vm_moves_with_its_external_snapshots(host: Host, tmp_path: Path):
    a_root, b_root = storage_roots(host, "off-ext-host-a", "off-ext-host-b")
    disk = new_image(a_root / "plain.raw", "raw")
    write(disk, "raw", 0x11)
    domain = guest_on(host, "off-external", disk, "raw")
    vm = cim_name(domain)

    with two_hosts(host, tmp_path, a_root, b_root) as hosts:
        a_conn, b_conn = hosts.a_conn, hosts.b_conn
        first = a_conn.GetInstance(take(a_conn, vm))["InstanceID"]
        top = current_disk(domain)
        assert top.parent == a_root and top != disk, top
        write(top, "qcow2", 0x22)
        # The disk is a qcow2 overlay now: the next snapshot is kept inside it.
        second = a_conn.GetInstance(take(a_conn, vm))["InstanceID"]
        assert current_disk(domain) == top
        write(top, "qcow2", 0x33)

        target = b_root / "moved" / top.name
        move_after_check(a_conn, vm, placed(a_conn, vm, top, target))
        assert state(b_conn, vm) == OFF and not exists(a_conn, vm)
        assert list(a_root.iterdir()) == []

        moved = target.parent
        assert sorted(p.name for p in moved.iterdir()) == sorted([disk.name, top.name])
        assert backing_of(target) == str(moved / disk.name)
        assert reads(target, 0x33)
        found = snapshots_by_id(b_conn, vm)
        assert set(found) == {first, second}
        assert parent_name(b_conn, found[second].path) == [found[first]["ElementName"]]

        apply(b_conn, found[second].path)
        assert current_disk(hosts.on_b(domain)) == target and reads(target, 0x22)
        apply(b_conn, snapshots_by_id(b_conn, vm)[first].path)
        applied = current_disk(hosts.on_b(domain))
        assert applied.parent == moved and applied != target and reads(applied, 0x11), applied


def test_a_saved_vm_moves_with_its_external_snapshot_and_its_memory(host: Host, tmp_path: Path):
    a_root, b_root = storage_roots(host, "saved-ext-host-a", "saved-ext-host-b")
    disk = new_image(a_root / "plain.raw", "raw")
    domain, console, vm = counting_guest(host, "saved-external", disk, "raw")

    with two_hosts(host, tmp_path, a_root, b_root) as hosts:
        a_conn, b_conn = hosts.a_conn, hosts.b_conn
        taken = take_while_counting(a_conn, vm, console)
        snapshot = a_conn.GetInstance(taken.snapshot)["InstanceID"]
        memory = list((tmp_path / "a-data" / "snapshot-memory").iterdir())
        assert len(memory) == 1
        change_state(a_conn, vm, SAVED)
        top = current_disk(domain)

        target = b_root / "moved" / top.name
        move_after_check(a_conn, vm, placed(a_conn, vm, top, target))
        assert state(b_conn, vm) == SAVED and not exists(a_conn, vm)
        assert list(a_root.iterdir()) == [] and list((tmp_path / "a-data" / "snapshot-memory").iterdir()) == []
        assert [p.name for p in (tmp_path / "b-data" / "snapshot-memory").iterdir()] == [memory[0].name]
        assert sorted(p.name for p in target.parent.iterdir()) == sorted([disk.name, top.name])

        resumed, last = resumed_from(b_conn, vm, snapshots_by_id(b_conn, vm)[snapshot].path, console)
        assert taken.before < resumed <= taken.after + 1 < last, (taken.before, resumed, taken.after, last)
        assert console.read_bytes().count(b"guest: ready") == 1
