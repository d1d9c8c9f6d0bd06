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

import re
import subprocess
from pathlib import Path

import libvirt
from pywbem import CIMInstanceName, Uint16

import guest
from qemu_host import Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from second_libvirtd import STATE, second_libvirtd
from test_qemu_migration import TICK, ticks
from test_qemu_snapshot_migration import RUNNING, SAVED, STANDARD, can_move, snapshots_of
from tests.integration.migration.two_hosts import ADMIN, exists, migrate, write_peers, write_users
from tests.integration.model.hyperv import NS, request_state, settings_of, state, wait_job
from tests.integration.storage.snapshots_client import snapshot_service, take
from tests.integration.storage.test_snapshots import set_user_snapshot_type
from tests.support.live import in_process_server


def test_a_running_guest_moves_live_with_its_external_snapshot(host: Host, tmp_path: Path):
    a_root, b_root = host.workdir / "ext-host-a", host.workdir / "ext-host-b"
    for root in (a_root, b_root):
        root.mkdir(mode=0o755)
    disk = a_root / "plain.raw"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(disk), "32M"], check=True)
    name = f"{host.tag}-external-live"
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(disk, "raw"), console_append=True))
    domain.create()
    console = host.console(domain)
    wait_for_console(console, r"guest: tick 3\b")
    vm = CIMInstanceName("Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem", "Name": domain.UUIDString().upper()}, namespace=NS)

    with second_libvirtd(host.tag) as b_uri:
        b_save_dir = STATE / f"{host.tag}-second-libvirtd" / "lib" / "qemu" / "save"
        with in_process_server(tmp_path / "b-data", backend="libvirt", libvirt_uri=b_uri, libvirt_domain_type="qemu",
                               libvirt_save_dir=b_save_dir, storage_roots=[b_root],
                               users_file=write_users(tmp_path / "b-users.json"), host_name="hostb") as b, \
             in_process_server(tmp_path / "a-data", backend="libvirt", libvirt_uri="qemu:///system",
                               libvirt_domain_type="qemu", storage_roots=[a_root],
                               peers_file=write_peers(tmp_path / "a-peers.toml", {"hostb": (b.url, ADMIN)}),
                               host_name="hosta") as a:
            a_conn, b_conn = a.connection(NS), b.connection(NS, creds=ADMIN)
            set_user_snapshot_type(a_conn, vm, STANDARD)
            before = ticks(console)[-1]
            take(a_conn, vm)
            after = ticks(console)[-1]
            (snapshot_name,) = snapshots_of(a_conn, vm)
            overlay = Path(domain.XMLDesc(0).split("<source file='")[1].split("'")[0])
            assert overlay.parent == a_root and overlay != disk, overlay
            memory = list((tmp_path / "a-data" / "snapshot-memory").iterdir())
            assert len(memory) == 1
            wait_for_console(console, rf"guest: tick {after + 3}\b", after=0)

            target = b_root / "moved" / overlay.name
            sasd = next(s for s in settings_of(a_conn, "Msvm_StorageAllocationSettingData", vm)
                        if s["HostResource"] and Path(s["HostResource"][0]).parent == a_root)
            sasd["HostResource"] = [str(b_root / "moved" / Path(sasd["HostResource"][0]).name)]
            movable, checked = can_move(a_conn, vm, "hostb", sasd)
            assert movable and checked["JobState"] == 7, checked["ErrorDescription"]
            job = migrate(a_conn, vm, "hostb", timeout=300, resources=[sasd], MigrationType=Uint16(32771))
            assert job["JobState"] == 7, job["ErrorDescription"]
            assert state(b_conn, vm) == RUNNING and not exists(a_conn, vm)
            moved = libvirt.open(b_uri).lookupByUUIDString(domain.UUIDString())
            assert moved.isActive() and moved.isPersistent() and moved.snapshotNum(0) == 1
            assert sorted(p.name for p in target.parent.iterdir()) == sorted([disk.name, overlay.name])
            assert list(a_root.iterdir()) == [] and list((tmp_path / "a-data" / "snapshot-memory").iterdir()) == []
            assert [p.name for p in (tmp_path / "b-data" / "snapshot-memory").iterdir()] == [memory[0].name]
            assert set(snapshots_of(b_conn, vm)) == {snapshot_name}
            counted = ticks(console)
            wait_for_console(console, rf"guest: tick {counted[-1] + 3}\b", after=0)
            counted = ticks(console)
            assert counted == list(range(1, len(counted) + 1)), counted

            assert request_state(b_conn, vm, SAVED)[0] in (0, 4096) and state(b_conn, vm) == SAVED
            last = ticks(console)[-1]
            code, out = b_conn.InvokeMethod("ApplySnapshot", snapshot_service(b_conn),
                                            Snapshot=snapshots_of(b_conn, vm)[snapshot_name].path)
            if code == 4096:
                assert wait_job(b_conn, out["Job"], 300)["JobState"] == 7
            else:
                assert code == 0
            offset = console.stat().st_size
            assert request_state(b_conn, vm, RUNNING)[0] in (0, 4096) and state(b_conn, vm) == RUNNING
            resumed = int(re.search(TICK, wait_for_console(console, TICK, after=offset)).group(1))
            assert before < resumed <= after + 1 < last, (before, resumed, after, last)
            assert console.read_bytes().count(b"guest: ready") == 1
