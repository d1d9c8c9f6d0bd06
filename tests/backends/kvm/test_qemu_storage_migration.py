"""Storage migration of a running guest on one KVM host, on real QEMU:
`cimprovider vm move-storage` (MigrationType 32769) has libvirt copy the
counting guest's disk into a new folder while it runs and switch the
guest over; it keeps counting (no reboot), its HostResource names the new
file, its persistent definition too, and the old file is gone. A guest
with an internal snapshot moves with it: the snapshot is still listed,
describes the new file, and applied afterwards brings back its tick."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from click.testing import CliRunner
from lxml import etree
from pywbem import CIMInstanceName

import guest
from qemu_host import Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from test_qemu_migration import TICK, ticks
from test_qemu_snapshot_migration import STANDARD, snapshots_of
from cimprovider.cli.main import cli
from tests.integration.model.hyperv import NS, request_state, settings_of, state, wait_job
from tests.integration.storage.snapshots_client import snapshot_service, take
from tests.integration.storage.test_snapshots import set_user_snapshot_type
from tests.support.live import in_process_server

SAVED, RUNNING = 6, 2


def test_a_running_guests_disk_moves_to_a_new_folder_and_it_keeps_counting(host: Host, tmp_path: Path):
    root, disk, name = _counted_disk(host, "storage-moving")
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(disk, "qcow2"), console_append=True))
    domain.create()
    console = host.console(domain)
    wait_for_console(console, r"guest: tick 3\b")
    vm = CIMInstanceName("Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem",
                                                 "Name": domain.UUIDString().upper()}, namespace=NS)

    with in_process_server(tmp_path / "data", backend="libvirt", libvirt_uri="qemu:///system",
                           libvirt_domain_type="qemu", storage_roots=[root]) as server:
        conn = server.connection(NS)
        _move_storage(server.url, name, root / "new")
        moved = root / "new" / "counted.qcow2"
        assert state(conn, vm) == RUNNING and domain.isActive()
        disks = [s["HostResource"] for s in settings_of(conn, "Msvm_StorageAllocationSettingData", vm)]
        assert [str(moved)] in disks and [str(disk)] not in disks
        assert moved.is_file() and not disk.exists()
        persistent = etree.fromstring(domain.XMLDesc(0x2))  # VIR_DOMAIN_XML_INACTIVE
        assert [s.get("file") for s in persistent.iterfind("devices/disk/source")] == [str(moved)]

    # It kept counting on its new disk: no reboot.
    last = ticks(console)[-1]
    wait_for_console(console, rf"guest: tick {last + 3}\b", after=0)
    counted = ticks(console)
    assert counted == list(range(1, len(counted) + 1)), counted
    assert console.read_bytes().count(b"guest: ready") == 1


def test_a_running_guest_with_an_internal_snapshot_moves_its_storage_and_keeps_the_snapshot(host: Host, tmp_path: Path):
    root, disk, name = _counted_disk(host, "storage-snapshot")
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(disk, "qcow2"), console_append=True))
    domain.create()
    console = host.console(domain)
    wait_for_console(console, r"guest: tick 3\b")
    vm = CIMInstanceName("Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem",
                                                 "Name": domain.UUIDString().upper()}, namespace=NS)
    moved = root / "new" / "counted.qcow2"

    with in_process_server(tmp_path / "data", backend="libvirt", libvirt_uri="qemu:///system",
                           libvirt_domain_type="qemu", storage_roots=[root]) as server:
        conn = server.connection(NS)
        set_user_snapshot_type(conn, vm, STANDARD)
        before = ticks(console)[-1]
        snapshot = conn.GetInstance(take(conn, vm))["ElementName"]
        after = ticks(console)[-1]
        wait_for_console(console, rf"guest: tick {after + 3}\b", after=0)

        _move_storage(server.url, name, root / "new")
        assert state(conn, vm) == RUNNING and domain.isActive()
        assert list(snapshots_of(conn, vm)) == [snapshot]
        disks = [s["HostResource"] for s in settings_of(conn, "Msvm_StorageAllocationSettingData", vm)]
        assert [str(moved)] in disks and [str(disk)] not in disks
        assert moved.is_file() and not disk.exists()
        [kept] = domain.listAllSnapshots(0)
        described = etree.fromstring(kept.getXMLDesc(0))
        assert [s.get("file") for s in described.iterfind("domain/devices/disk/source")] == [str(moved)]
        counting = ticks(console)[-1]
        wait_for_console(console, rf"guest: tick {counting + 3}\b", after=0)
        counted = ticks(console)
        assert counted == list(range(1, len(counted) + 1)), counted

        # Applied (saved first, as Hyper-V asks), the snapshot in the moved
        # file brings back the guest's memory and disk: it counts again from its tick.
        assert request_state(conn, vm, SAVED)[0] in (0, 4096) and state(conn, vm) == SAVED
        last = ticks(console)[-1]
        code, out = conn.InvokeMethod("ApplySnapshot", snapshot_service(conn), Snapshot=snapshots_of(conn, vm)[snapshot].path)
        if code == 4096:
            assert wait_job(conn, out["Job"], 300)["JobState"] == 7
        else:
            assert code == 0
        offset = console.stat().st_size
        assert request_state(conn, vm, RUNNING)[0] in (0, 4096) and state(conn, vm) == RUNNING
        resumed = int(re.search(TICK, wait_for_console(console, TICK, after=offset)).group(1))
        assert before < resumed <= after + 1 < last, (before, resumed, after, last)
        assert console.read_bytes().count(b"guest: ready") == 1


def _counted_disk(host: Host, label: str) -> tuple[Path, Path, str]:
    """A storage root with an empty qcow2 for the counting guest, and the domain's name."""
    root = host.workdir / label
    root.mkdir(mode=0o755)
    disk = root / "old" / "counted.qcow2"
    disk.parent.mkdir(mode=0o755)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "32M"], check=True)
    return root, disk, f"{host.tag}-{label}"


def _move_storage(url: str, name: str, folder: Path) -> None:
    """`cimprovider vm move-storage`, as an administrator types it."""
    environment = {k: None for k in os.environ if k.startswith("CIMPROVIDER_")}
    environment.update({"CIMPROVIDER_SERVER": url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull})
    result = CliRunner(mix_stderr=False).invoke(cli, ["vm", "move-storage", name, str(folder)],
                                                env=environment, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
