"""Live migration between two KVM hosts on real QEMU: two libvirtd
instances on this machine (the suite's, and a second one the test starts
with its own host UUID and directories, reached over a UNIX socket), a
cimprovider server on each, and the tiny guest with a disk, running and
counting on its serial console. MigrateVirtualSystemToHost with the disk
placed in the destination's storage: libvirt moves the guest live, the
disk copied, persisted on the destination and undefined on the source;
the guest keeps counting (it never rebooted), the destination shows it
running, the source no longer has it nor its disk. Before that, a move
the destination refuses (a path outside its storage roots) and one its
hypervisor cannot take (a destination naming a URI nobody listens at,
after it made the empty image) leave the guest running on the source and
nothing on the destinations.

The same running guest offered to a simulated host is refused by the
check, naming both kinds (tests/integration/migration/test_checks.py
has the other way round)."""

from __future__ import annotations

import re
import subprocess
import threading
from contextlib import ExitStack
from pathlib import Path

import libvirt
import pytest
import pywbem
from pywbem import CIMInstanceName, Uint16

import guest
from qemu_host import Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from second_libvirtd import second_libvirtd
from tests.integration.migration.test_checks import check_to_host
from tests.integration.migration.two_hosts import ADMIN, exists, migrate, write_peers, write_users
from tests.integration.model.hyperv import NS, settings_of, state
from tests.support.live import in_process_server

TICK = r"guest: tick (\d+)"


def watch_state(conn, vm: CIMInstanceName, shown: list[int], done: threading.Event) -> None:
    """Every EnabledState the destination shows the VM in until `done`."""
    while not done.is_set():
        try:
            shown.append(int(conn.GetInstance(vm, PropertyList=["EnabledState"])["EnabledState"]))
        except pywbem.CIMError as error:
            assert error.status_code == pywbem.CIM_ERR_NOT_FOUND, error
        done.wait(0.05)


def ticks(console: Path) -> list[int]:
    return [int(n) for n in re.findall(TICK, console.read_bytes().decode(errors="replace"))]


def test_a_running_guest_moves_live_with_its_disk_and_keeps_counting(host: Host, tmp_path: Path):
    a_root, b_root = host.workdir / "host-a", host.workdir / "host-b"
    for root in (a_root, b_root):
        root.mkdir()
        root.chmod(0o755)
    disk = a_root / "moving.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "32M"], check=True)
    name = f"{host.tag}-migrating"
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(disk, "qcow2"), console_append=True))
    domain.create()
    console = host.console(domain)
    wait_for_console(console, r"guest: tick 3\b")
    vm = CIMInstanceName("Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem", "Name": domain.UUIDString().upper()}, namespace=NS)

    with second_libvirtd(host.tag) as b_uri, ExitStack() as stack:
        users = write_users(tmp_path / "b-users.json")
        with in_process_server(tmp_path / "b-data", backend="libvirt", libvirt_uri=b_uri, libvirt_domain_type="qemu",
                               storage_roots=[b_root], users_file=users, host_name="hostb") as b:
            simulated = stack.enter_context(in_process_server(tmp_path / "c-data", host_name="hostc"))
            # The same libvirtd behind a server that names a hypervisor URI nobody listens at.
            wrong_root = host.workdir / "host-b-wrong"
            wrong_root.mkdir(mode=0o755)
            wrong = stack.enter_context(in_process_server(
                tmp_path / "d-data", backend="libvirt", libvirt_uri=b_uri, libvirt_domain_type="qemu",
                libvirt_migration_uri=f"qemu+unix:///system?socket={tmp_path / 'nobody-listens'}",
                storage_roots=[wrong_root], users_file=users, host_name="hostb-wrong"))
            peers = write_peers(tmp_path / "a-peers.toml", {"hostb": (b.url, ADMIN), "hostc": (simulated.url, None),
                                                            "hostb-wrong": (wrong.url, ADMIN)})
            with in_process_server(tmp_path / "a-data", backend="libvirt", libvirt_uri="qemu:///system",
                                   libvirt_domain_type="qemu", storage_roots=[a_root], peers_file=peers,
                                   host_name="hosta") as a:
                a_conn, b_conn = a.connection(NS), b.connection(NS, creds=ADMIN)
                assert state(a_conn, vm) == 2
                migratable, checked, _ = check_to_host(a_conn, vm, "hostc")
                assert not migratable and checked["JobState"] == 10
                assert "libvirt host" in checked["ErrorDescription"] and "simulated host" in checked["ErrorDescription"]
                sasd = next(s for s in settings_of(a_conn, "Msvm_StorageAllocationSettingData", vm)
                            if s["HostResource"] == [str(disk)])

                # Refused by the destination (outside its storage roots), and
                # failed by the hypervisor after the destination made the
                # image: the guest runs on here, the destinations hold nothing.
                sasd["HostResource"] = [str(a_root / "elsewhere.qcow2")]
                refused = migrate(a_conn, vm, "hostb", timeout=300, resources=[sasd], MigrationType=Uint16(32771))
                assert refused["JobState"] == 10 and "storage roots" in refused["ErrorDescription"], refused["ErrorDescription"]
                sasd["HostResource"] = [str(wrong_root / "moving.qcow2")]
                failed = migrate(a_conn, vm, "hostb-wrong", timeout=300, resources=[sasd], MigrationType=Uint16(32771))
                assert failed["JobState"] == 10 and "hypervisor could not move" in failed["ErrorDescription"], failed["ErrorDescription"]
                assert state(a_conn, vm) == 2 and domain.isActive() and disk.is_file()
                assert list(wrong_root.iterdir()) == [] and libvirt.open(b_uri).listAllDomains() == []

                target = b_root / "moved" / "moving.qcow2"
                sasd["HostResource"] = [str(target)]
                before = ticks(console)[-1]
                shown: list[int] = []
                done = threading.Event()
                watcher = threading.Thread(target=watch_state, args=(b.connection(NS, creds=ADMIN), vm, shown, done))
                watcher.start()
                try:
                    job = migrate(a_conn, vm, "hostb", timeout=300, resources=[sasd], MigrationType=Uint16(32771))
                finally:
                    done.set()
                    watcher.join()
                assert job["JobState"] == 7, job["ErrorDescription"]
                assert job["PercentComplete"] == 100
                # While it arrived the destination showed it paused at most, never off (3) or saved (6).
                assert shown and not {3, 6} & set(shown), shown

                # The destination has it, running, persisted; the source has neither it nor its disk.
                assert state(b_conn, vm) == 2
                assert not exists(a_conn, vm)
                moved = libvirt.open(b_uri).lookupByUUIDString(domain.UUIDString())
                assert moved.isActive() and moved.isPersistent()
                with pytest.raises(libvirt.libvirtError):
                    host.conn.lookupByUUIDString(domain.UUIDString())
                assert target.is_file() and not disk.exists()

                # It kept counting where it was: no reboot, no pause long enough to lose count.
                wait_for_console(console, rf"guest: tick {before + 5}\b", after=0)
                counted = ticks(console)
                assert counted == list(range(1, len(counted) + 1)), counted
                assert console.read_bytes().count(b"guest: ready") == 1
