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
import re
import subprocess
import threading
from contextlib import ExitStack
from pathlib import Path

import uuid

import libvirt
from pywbem import CIMInstanceName, Uint16

import guest
from qemu_host import Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from second_libvirtd import STATE, second_libvirtd
from test_qemu_migration import TICK, ticks, watch_state
from tests.integration.migration.two_hosts import ADMIN, exists, migrate, migration_service, migration_setting, write_peers, write_users
from tests.integration.model.hyperv import NS, request_state, settings_of, state, wait_job
from tests.integration.storage.snapshots_client import snapshot_service, take
from tests.integration.storage.test_snapshots import set_user_snapshot_type
from test_qemu_snapshots import vm_on
from cimprovider.backends import change_power_state
from cimprovider.backends.libvirt.backend import LibvirtBackend
from cimprovider.schemas import PowerRequest, PowerState
from tests.support.live import in_process_server

SAVED, RUNNING = 6, 2
STANDARD = 5  # UserSnapshotType: a snapshot of a running VM keeps its memory


def snapshots_of(conn, vm: CIMInstanceName) -> dict[str, dict]:
    """Each snapshot's ElementName → its settings, as a WMI client reads them."""
    found = {}
    for vssd in conn.Associators(vm, AssocClass="Msvm_SnapshotOfVirtualSystem", ResultClass="Msvm_VirtualSystemSettingData"):
        assert vssd["VirtualSystemType"] == "Microsoft:Hyper-V:Snapshot:Realized"
        found[vssd["ElementName"]] = vssd
    return found


def parent_name(conn, snapshot: CIMInstanceName) -> list[str]:
    return [p["ElementName"] for p in conn.Associators(snapshot, AssocClass="Msvm_ParentChildSettingData", Role="Dependent", ResultClass="Msvm_VirtualSystemSettingData")]


def can_move(conn, vm: CIMInstanceName, destination: str, sasd) -> tuple[bool, dict]:
    conn.debug = True
    code, out = conn.InvokeMethod("CheckVirtualSystemIsMigratableToHost", migration_service(conn), ComputerSystem=vm,
                                  DestinationHost=destination,
                                  MigrationSettingData=migration_setting(conn, MigrationType=Uint16(32771)).tocimxmlstr(),
                                  NewResourceSettingData=[sasd.tocimxmlstr()])
    assert int(code) == 4096
    # Read from the reply itself: pywbem 1.x turns a boolean output FALSE into True.
    movable = '<PARAMVALUE NAME="IsMigratable" PARAMTYPE="boolean"><VALUE>TRUE' in conn.last_raw_reply.decode()
    return movable, wait_job(conn, out["Job"])


def test_a_running_guest_moves_live_with_its_internal_snapshots(host: Host, tmp_path: Path):
    a_root, b_root, wrong_root = (host.workdir / n for n in ("snap-host-a", "snap-host-b", "snap-host-wrong"))
    for root in (a_root, b_root, wrong_root):
        root.mkdir(mode=0o755)
    disk = a_root / "snapped.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "32M"], check=True)
    name = f"{host.tag}-snapped"
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(disk, "qcow2"), console_append=True))
    domain.create()
    console = host.console(domain)
    wait_for_console(console, r"guest: tick 3\b")
    vm = CIMInstanceName("Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem", "Name": domain.UUIDString().upper()}, namespace=NS)

    with second_libvirtd(host.tag) as b_uri, ExitStack() as stack:
        users = write_users(tmp_path / "b-users.json")
        b_save_dir = STATE / f"{host.tag}-second-libvirtd" / "lib" / "qemu" / "save"
        b = stack.enter_context(in_process_server(tmp_path / "b-data", backend="libvirt", libvirt_uri=b_uri,
                                                  libvirt_domain_type="qemu", libvirt_save_dir=b_save_dir,
                                                  storage_roots=[b_root], users_file=users, host_name="hostb"))
        wrong = stack.enter_context(in_process_server(
            tmp_path / "d-data", backend="libvirt", libvirt_uri=b_uri, libvirt_domain_type="qemu",
            libvirt_migration_uri=f"qemu+unix:///system?socket={tmp_path / 'nobody-listens'}",
            storage_roots=[wrong_root], users_file=users, host_name="hostb-wrong"))
        peers = write_peers(tmp_path / "a-peers.toml", {"hostb": (b.url, ADMIN), "hostb-wrong": (wrong.url, ADMIN)})
        a = stack.enter_context(in_process_server(tmp_path / "a-data", backend="libvirt", libvirt_uri="qemu:///system",
                                                  libvirt_domain_type="qemu", storage_roots=[a_root], peers_file=peers,
                                                  host_name="hosta"))
        a_conn, b_conn = a.connection(NS), b.connection(NS, creds=ADMIN)

        # Two standard snapshots (they keep the memory) while it counts, the second a child of the first.
        set_user_snapshot_type(a_conn, vm, STANDARD)
        before_first = ticks(console)[-1]
        first = take(a_conn, vm)
        after_first = ticks(console)[-1]
        wait_for_console(console, rf"guest: tick {after_first + 3}\b", after=0)
        take(a_conn, vm)
        taken = snapshots_of(a_conn, vm)
        assert len(taken) == 2 and domain.snapshotNum(0) == 2
        first_name = a_conn.GetInstance(first)["ElementName"]
        second_name = next(n for n in taken if n != first_name)

        def sasd_to(target: Path):
            sasd = next(s for s in settings_of(a_conn, "Msvm_StorageAllocationSettingData", vm) if s["HostResource"] == [str(disk)])
            sasd["HostResource"] = [str(target)]
            return sasd

        # The destination's hypervisor cannot be reached after the disk was
        # uploaded: the guest runs on here with both snapshots, nothing stays there.
        failed = migrate(a_conn, vm, "hostb-wrong", timeout=300, resources=[sasd_to(wrong_root / "snapped.qcow2")],
                         MigrationType=Uint16(32771))
        assert failed["JobState"] == 10 and "hypervisor could not move" in failed["ErrorDescription"], failed["ErrorDescription"]
        assert state(a_conn, vm) == RUNNING and domain.isActive() and domain.snapshotNum(0) == 2
        assert set(snapshots_of(a_conn, vm)) == {first_name, second_name}
        assert list(wrong_root.iterdir()) == [] and sorted(p.name for p in a_root.iterdir()) == ["snapped.qcow2"]

        current = domain.snapshotCurrent(0).getName()
        target = b_root / "moved" / "snapped.qcow2"
        movable, checked = can_move(a_conn, vm, "hostb", sasd_to(target))
        assert movable and checked["JobState"] == 7, checked["ErrorDescription"]

        shown: list[int] = []
        done = threading.Event()
        watcher = threading.Thread(target=watch_state, args=(b.connection(NS, creds=ADMIN), vm, shown, done))
        watcher.start()
        try:
            job = migrate(a_conn, vm, "hostb", timeout=300, resources=[sasd_to(target)], MigrationType=Uint16(32771))
        finally:
            done.set()
            watcher.join()
        assert job["JobState"] == 7, job["ErrorDescription"]
        assert shown and not {3, 6} & set(shown), shown
        assert state(b_conn, vm) == RUNNING and not exists(a_conn, vm)
        assert list(a_root.iterdir()) == []
        moved = libvirt.open(b_uri).lookupByUUIDString(domain.UUIDString())
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
        counted = ticks(console)
        wait_for_console(console, rf"guest: tick {counted[-1] + 3}\b", after=0)
        counted = ticks(console)
        assert counted == list(range(1, len(counted) + 1)), counted

        # Applied there (saved first, as Hyper-V asks), the first snapshot
        # brings back the guest's memory: it counts again from that tick.
        assert request_state(b_conn, vm, SAVED)[0] in (0, 4096) and state(b_conn, vm) == SAVED
        last = ticks(console)[-1]
        code, out = b_conn.InvokeMethod("ApplySnapshot", snapshot_service(b_conn), Snapshot=arrived[first_name].path)
        if code == 4096:
            assert wait_job(b_conn, out["Job"], 300)["JobState"] == 7
        else:
            assert code == 0
        offset = console.stat().st_size
        assert request_state(b_conn, vm, RUNNING)[0] in (0, 4096) and state(b_conn, vm) == RUNNING
        resumed = int(re.search(TICK, wait_for_console(console, TICK, after=offset)).group(1))
        assert before_first < resumed <= after_first + 1 < last, (before_first, resumed, after_first, last)
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
