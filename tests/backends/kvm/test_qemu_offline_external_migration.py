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

import json
import re
import subprocess
from pathlib import Path

import libvirt
from pywbem import Uint16

import guest
from qemu_host import Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from second_libvirtd import STATE, second_libvirtd
from test_qemu_migration import TICK, ticks
from test_qemu_offline_migration import cim_name, placed
from test_qemu_snapshot_migration import STANDARD, can_move, parent_name
from tests.integration.migration.two_hosts import ADMIN, exists, migrate, write_peers, write_users
from tests.integration.model.hyperv import NS, request_state, state, wait_job
from tests.integration.storage.snapshots_client import snapshot_service, take
from tests.integration.storage.test_snapshots import set_user_snapshot_type
from tests.support.live import in_process_server

OFF, SAVED, RUNNING = 3, 6, 2


def current_disk(domain: libvirt.virDomain) -> Path:
    return Path(domain.XMLDesc(0).split("<source file='")[1].split("'")[0])


def write(image: Path, fmt: str, byte: int) -> None:
    subprocess.run(["qemu-io", "-f", fmt, "-c", f"write -P {byte:#x} 0 1M", str(image)], check=True, capture_output=True)


def reads(image: Path, byte: int) -> bool:
    return subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"read -P {byte:#x} 0 1M", str(image)],
                          capture_output=True).returncode == 0


def backing_of(image: Path) -> str | None:
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(image)],
                                     capture_output=True, text=True, check=True).stdout)
    return info.get("backing-filename")


def snapshots_by_id(conn, vm) -> dict[str, object]:
    return {s["InstanceID"]: s for s in conn.Associators(vm, AssocClass="Msvm_SnapshotOfVirtualSystem",
                                                           ResultClass="Msvm_VirtualSystemSettingData")}


def apply(conn, snapshot) -> None:
    code, out = conn.InvokeMethod("ApplySnapshot", snapshot_service(conn), Snapshot=snapshot)
    if code == 4096:
        job = wait_job(conn, out["Job"], 300)
        assert job["JobState"] == 7, job["ErrorDescription"]
    else:
        assert code == 0


def two_servers(host: Host, tmp_path: Path, a_root: Path, b_root: Path, b_uri: str):
    b_save_dir = STATE / f"{host.tag}-second-libvirtd" / "lib" / "qemu" / "save"
    b = in_process_server(tmp_path / "b-data", backend="libvirt", libvirt_uri=b_uri, libvirt_domain_type="qemu",
                          libvirt_save_dir=b_save_dir, storage_roots=[b_root],
                          users_file=write_users(tmp_path / "b-users.json"), host_name="hostb")
    return b, lambda b_url: in_process_server(
        tmp_path / "a-data", backend="libvirt", libvirt_uri="qemu:///system", libvirt_domain_type="qemu",
        storage_roots=[a_root], peers_file=write_peers(tmp_path / "a-peers.toml", {"hostb": (b_url, ADMIN)}),
        host_name="hosta")


def test_an_off_vm_moves_with_its_external_snapshots(host: Host, tmp_path: Path):
    a_root, b_root = host.workdir / "off-ext-host-a", host.workdir / "off-ext-host-b"
    for root in (a_root, b_root):
        root.mkdir(mode=0o755)
    disk = a_root / "plain.raw"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(disk), "32M"], check=True)
    write(disk, "raw", 0x11)
    name = f"{host.tag}-off-external"
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(disk, "raw")))
    vm = cim_name(domain)

    with second_libvirtd(host.tag) as b_uri:
        server_b, server_a = two_servers(host, tmp_path, a_root, b_root, b_uri)
        with server_b as b, server_a(b.url) as a:
            a_conn, b_conn = a.connection(NS), b.connection(NS, creds=ADMIN)
            first = a_conn.GetInstance(take(a_conn, vm))["InstanceID"]
            top = current_disk(domain)
            assert top.parent == a_root and top != disk, top
            write(top, "qcow2", 0x22)
            # The disk is a qcow2 overlay now: the next snapshot is kept inside it.
            second = a_conn.GetInstance(take(a_conn, vm))["InstanceID"]
            assert current_disk(domain) == top
            write(top, "qcow2", 0x33)

            target = b_root / "moved" / top.name
            sasd = placed(a_conn, vm, top, target)
            movable, checked = can_move(a_conn, vm, "hostb", sasd)
            assert movable and checked["JobState"] == 7, checked["ErrorDescription"]
            job = migrate(a_conn, vm, "hostb", timeout=300, resources=[sasd], MigrationType=Uint16(32771))
            assert job["JobState"] == 7, job["ErrorDescription"]
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
            assert current_disk(moved_domain(b_uri, domain)) == target and reads(target, 0x22)
            apply(b_conn, snapshots_by_id(b_conn, vm)[first].path)
            applied = current_disk(moved_domain(b_uri, domain))
            assert applied.parent == moved and applied != target and reads(applied, 0x11), applied


def moved_domain(uri: str, domain: libvirt.virDomain) -> libvirt.virDomain:
    return libvirt.open(uri).lookupByUUIDString(domain.UUIDString())


def test_a_saved_vm_moves_with_its_external_snapshot_and_its_memory(host: Host, tmp_path: Path):
    a_root, b_root = host.workdir / "saved-ext-host-a", host.workdir / "saved-ext-host-b"
    for root in (a_root, b_root):
        root.mkdir(mode=0o755)
    disk = a_root / "plain.raw"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(disk), "32M"], check=True)
    name = f"{host.tag}-saved-external"
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(disk, "raw"), console_append=True))
    domain.create()
    console = host.console(domain)
    wait_for_console(console, r"guest: tick 3\b")
    vm = cim_name(domain)

    with second_libvirtd(host.tag) as b_uri:
        server_b, server_a = two_servers(host, tmp_path, a_root, b_root, b_uri)
        with server_b as b, server_a(b.url) as a:
            a_conn, b_conn = a.connection(NS), b.connection(NS, creds=ADMIN)
            set_user_snapshot_type(a_conn, vm, STANDARD)
            before = ticks(console)[-1]
            snapshot = a_conn.GetInstance(take(a_conn, vm))["InstanceID"]
            after = ticks(console)[-1]
            memory = list((tmp_path / "a-data" / "snapshot-memory").iterdir())
            assert len(memory) == 1
            wait_for_console(console, rf"guest: tick {after + 3}\b", after=0)
            assert request_state(a_conn, vm, SAVED)[0] in (0, 4096) and state(a_conn, vm) == SAVED
            top = current_disk(domain)

            target = b_root / "moved" / top.name
            sasd = placed(a_conn, vm, top, target)
            movable, checked = can_move(a_conn, vm, "hostb", sasd)
            assert movable and checked["JobState"] == 7, checked["ErrorDescription"]
            job = migrate(a_conn, vm, "hostb", timeout=300, resources=[sasd], MigrationType=Uint16(32771))
            assert job["JobState"] == 7, job["ErrorDescription"]
            assert state(b_conn, vm) == SAVED and not exists(a_conn, vm)
            assert list(a_root.iterdir()) == [] and list((tmp_path / "a-data" / "snapshot-memory").iterdir()) == []
            assert [p.name for p in (tmp_path / "b-data" / "snapshot-memory").iterdir()] == [memory[0].name]
            assert sorted(p.name for p in target.parent.iterdir()) == sorted([disk.name, top.name])

            last = ticks(console)[-1]
            apply(b_conn, snapshots_by_id(b_conn, vm)[snapshot].path)
            offset = console.stat().st_size
            assert request_state(b_conn, vm, RUNNING)[0] in (0, 4096) and state(b_conn, vm) == RUNNING
            resumed = int(re.search(TICK, wait_for_console(console, TICK, after=offset)).group(1))
            assert before < resumed <= after + 1 < last, (before, resumed, after, last)
            assert console.read_bytes().count(b"guest: ready") == 1
