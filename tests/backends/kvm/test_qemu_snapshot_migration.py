"""Live migration of a running KVM guest that has internal snapshots, on
real QEMU with two libvirtd instances (as test_qemu_migration): the
counting guest gets two standard snapshots (the second a child of the first) while
it runs, and moves live to the second host with them.

Before that, a destination whose hypervisor nobody listens at takes the
disk's upload and then fails the move: the guest runs on here with its
snapshots, and that destination keeps no file. The check says the guest
can move. Then the move: the guest never stops counting, the destination
never shows it off or saved, lists both snapshots over CIM with their
tree, the source keeps no file of the VM, and the arrived image checks
clean. Applying the first snapshot there brings back the guest's memory
from when it was taken: it counts again from that tick, without a boot."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

from migration_support import (
    RUNNING, SAVED, assert_counts_on, can_move, change_state, counting_guest, move, move_watched, new_image,
    parent_name, placed, resumed_from, snapshots_of, storage_roots, take_while_counting, two_hosts,
)
from qemu_host import Host, host, libvirtd_in_use, shared_host  # noqa: F401 (fixtures)
from test_qemu_snapshots import vm_on
from cimprovider.backends import change_power_state
from cimprovider.backends.libvirt.backend import LibvirtBackend
from cimprovider.schemas import PowerRequest, PowerState
from tests.integration.migration.two_hosts import exists
from tests.integration.model.hyperv import state
from tests.integration.storage.snapshots_client import take


def test_a_running_guest_moves_live_with_its_internal_snapshots(host: Host, tmp_path: Path):
    a_root, b_root, wrong_root = storage_roots(host, "snap-host-a", "snap-host-b", "snap-host-wrong")
    disk = new_image(a_root / "snapped.qcow2")
    domain, console, vm = counting_guest(host, "snapped", disk)

    with two_hosts(host, tmp_path, a_root, b_root, wrong_root=wrong_root) as hosts:
        a_conn, b_conn = hosts.a_conn, hosts.b_conn

        # Two standard snapshots (they keep the memory) while it counts, the second a child of the first.
        first = take_while_counting(a_conn, vm, console)
        take(a_conn, vm)
        taken = snapshots_of(a_conn, vm)
        assert len(taken) == 2 and domain.snapshotNum(0) == 2
        first_name = a_conn.GetInstance(first.snapshot)["ElementName"]
        second_name = next(n for n in taken if n != first_name)

        # The destination's hypervisor cannot be reached after the disk was
        # uploaded: the guest runs on here with both snapshots, nothing stays there.
        failed = move(a_conn, vm, placed(a_conn, vm, disk, wrong_root / "snapped.qcow2"), "hostb-wrong")
        assert failed["JobState"] == 10 and "hypervisor could not move" in failed["ErrorDescription"], failed["ErrorDescription"]
        assert state(a_conn, vm) == RUNNING and domain.isActive() and domain.snapshotNum(0) == 2
        assert set(snapshots_of(a_conn, vm)) == {first_name, second_name}
        assert list(wrong_root.iterdir()) == [] and sorted(p.name for p in a_root.iterdir()) == ["snapped.qcow2"]

        current = domain.snapshotCurrent(0).getName()
        target = b_root / "moved" / "snapped.qcow2"
        movable, checked = can_move(a_conn, vm, "hostb", placed(a_conn, vm, disk, target))
        assert movable and checked["JobState"] == 7, checked["ErrorDescription"]

        job, shown = move_watched(hosts, vm, placed(a_conn, vm, disk, target))
        assert job["JobState"] == 7, job["ErrorDescription"]
        assert shown and not {3, 6} & set(shown), shown
        assert state(b_conn, vm) == RUNNING and not exists(a_conn, vm)
        assert list(a_root.iterdir()) == []
        moved = hosts.on_b(domain)
        assert moved.isActive() and moved.isPersistent() and moved.snapshotNum(0) == 2
        assert moved.snapshotCurrent(0).getName() == current

        # Both snapshots, with their tree, on the destination.
        arrived = snapshots_of(b_conn, vm)
        assert set(arrived) == {first_name, second_name}
        assert parent_name(b_conn, arrived[second_name].path) == [first_name]
        assert parent_name(b_conn, arrived[first_name].path) == []
        checked = json.loads(subprocess.run(["qemu-img", "check", "-U", "--output=json", str(target)],
                                            capture_output=True, text=True, check=True).stdout)
        assert checked.get("corruptions", 0) == 0 and checked.get("check-errors", 0) == 0, checked
        assert_counts_on(console)

        # Applied there (saved first, as Hyper-V asks), the first snapshot
        # brings back the guest's memory: it counts again from that tick.
        change_state(b_conn, vm, SAVED)
        resumed, last = resumed_from(b_conn, vm, arrived[first_name].path, console)
        assert first.before < resumed <= first.after + 1 < last, (first.before, resumed, first.after, last)
        assert console.read_bytes().count(b"guest: ready") == 1


def test_snapshots_set_aside_for_a_move_cut_short_come_back_at_the_next_start(host: Host):
    """The source drops a VM's snapshot metadata just before libvirt moves
    it; a server killed then, with the VM still here, finds them again at
    its next start, the current one current; for a VM libvirt took away
    there is nothing to redefine and nothing is left behind."""
    disk = host.workdir / "aside.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    backend = host.backend
    vm = vm_on(host, disk, "aside")
    assert change_power_state(backend, vm.id, PowerRequest.START).power_state is PowerState.RUNNING
    first = backend.create_snapshot(vm.id, "first")
    second = backend.create_snapshot(vm.id, "second")
    domain = host.conn.lookupByUUID(vm.id.bytes)
    gone = uuid.uuid4()

    # What a move does right before libvirt's migration, and then the kill.
    backend._set_snapshots_aside(domain, vm.id, *backend._snapshot_definitions(domain, vm.id, external=True))
    backend._set_snapshots_aside(domain, gone, (), None)
    assert domain.snapshotNum(0) == 0
    backend.close()
    host.backend = restarted = LibvirtBackend(host.config)

    assert [s.id for s in restarted.list_snapshots(vm.id)] == [first.id, second.id]
    assert restarted.get_snapshot(second.id).parent_id == first.id
    assert restarted.snapshot_position(vm.id).current_id == second.id
    assert list((host.config.data_dir / "migrating-snapshots").iterdir()) == []
    change_power_state(restarted, vm.id, PowerRequest.STOP)
