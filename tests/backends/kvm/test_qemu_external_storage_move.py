"""Storage migration on one KVM host (MigrationType 32769) of a VM with
external snapshots, on real QEMU. The counting guest runs on a raw disk,
so a standard snapshot freezes the disk under a qcow2 overlay beside it
and, taken while it runs, keeps the guest's memory in a file. Every file
of the chain moves into the new folder, as Hyper-V places a VM's
checkpoint and parent disks beside its disks: the frozen disk, the
overlay and the memory file; the overlay reads through the moved frozen
disk, the snapshot names the new files, and no old file is left. A
running guest keeps counting through the move (libvirt copies only the
overlay's own data, onto an overlay made on the moved frozen disk); a
saved one resumes where it was saved. Applying the snapshot afterwards,
with the old files gone, reads the moved ones: the guest counts again
from the snapshot's tick, or the disk holds the snapshot's bytes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import libvirt
import pywbem
from lxml import etree

import guest
from qemu_host import Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from test_qemu_interrupted_storage_move import (
    _abort_from_elsewhere,
    _assert_interrupted,
    _killed_while_copying,
    _serve_args,
    _slow_down_when_started,
)
from migration_support import STANDARD, TICK, apply, cim_name, placed, reads, snapshots_by_id, ticks, write
from test_qemu_storage_migration import _move_storage
from tests.integration.migration.two_hosts import migration_service, migration_setting
from tests.integration.model.hyperv import NS, request_state, settings_of, state, wait_job
from tests.integration.storage.snapshots_client import take
from tests.integration.storage.test_snapshots import set_user_snapshot_type
from tests.support.live import in_process_server, serve_process

OFF, RUNNING, SAVED, EXCEPTION = 3, 2, 6, 10
INACTIVE = libvirt.VIR_DOMAIN_XML_INACTIVE


def test_a_running_guest_with_an_external_snapshot_moves_its_storage_and_keeps_counting(host: Host, tmp_path: Path):
    root, disk = _raw_disk(host, "ext-storage-running")
    domain = _counting_guest(host, "ext-storage-running", disk)
    console = host.console(domain)
    vm, new, memory_folder = cim_name(domain), root / "new", tmp_path / "data" / "snapshot-memory"

    with _server(tmp_path, root) as server:
        conn = server.connection(NS)
        set_user_snapshot_type(conn, vm, STANDARD)
        before = ticks(console)[-1]
        snapshot = conn.GetInstance(take(conn, vm))["InstanceID"]
        after = ticks(console)[-1]
        overlay = _top(domain, 0)
        [memory] = list(memory_folder.iterdir())
        assert overlay.parent == disk.parent and overlay != disk, overlay
        wait_for_console(console, rf"guest: tick {after + 3}\b", after=0)

        _move_storage(server.url, domain.name(), new)

        assert state(conn, vm) == RUNNING and domain.isActive()
        assert sorted(p.name for p in new.iterdir()) == sorted([disk.name, overlay.name, memory.name])
        assert list(disk.parent.iterdir()) == [] and list(memory_folder.iterdir()) == []
        live = etree.fromstring(domain.XMLDesc(0))
        assert live.find("devices/disk/source").get("file") == str(new / overlay.name)
        assert live.find("devices/disk/backingStore/source").get("file") == str(new / disk.name)
        assert _top(domain, INACTIVE) == new / overlay.name
        assert _backing_of(new / overlay.name) == str(new / disk.name)
        _assert_described_with(domain, new / disk.name, new / overlay.name, new / memory.name)
        disks = [s["HostResource"] for s in settings_of(conn, "Msvm_StorageAllocationSettingData", vm)]
        assert [str(new / overlay.name)] in disks
        _assert_counts_on(console)

        # Applied (saved first, as Hyper-V asks) with the old files gone: the moved
        # frozen disk and memory file give back the guest as it was at the snapshot.
        assert request_state(conn, vm, SAVED)[0] in (0, 4096) and state(conn, vm) == SAVED
        last = ticks(console)[-1]
        apply(conn, snapshots_by_id(conn, vm)[snapshot].path)
        offset = console.stat().st_size
        assert request_state(conn, vm, RUNNING)[0] in (0, 4096) and state(conn, vm) == RUNNING
        resumed = int(re.search(TICK, wait_for_console(console, TICK, after=offset)).group(1))
        assert before < resumed <= after + 1 < last, (before, resumed, after, last)
        assert console.read_bytes().count(b"guest: ready") == 1
        assert _top(domain, 0).parent == new and _backing_of(_top(domain, 0)) == str(new / disk.name)
        assert list(disk.parent.iterdir()) == []


def test_a_saved_guest_with_an_external_snapshot_moves_its_storage_and_resumes(host: Host, tmp_path: Path):
    root, disk = _raw_disk(host, "ext-storage-saved")
    domain = _counting_guest(host, "ext-storage-saved", disk)
    console = host.console(domain)
    vm, new, memory_folder = cim_name(domain), root / "new", tmp_path / "data" / "snapshot-memory"

    with _server(tmp_path, root) as server:
        conn = server.connection(NS)
        set_user_snapshot_type(conn, vm, STANDARD)
        before = ticks(console)[-1]
        snapshot = conn.GetInstance(take(conn, vm))["InstanceID"]
        after = ticks(console)[-1]
        overlay = _top(domain, 0)
        [memory] = list(memory_folder.iterdir())
        wait_for_console(console, rf"guest: tick {after + 3}\b", after=0)
        assert request_state(conn, vm, SAVED)[0] in (0, 4096) and state(conn, vm) == SAVED
        saved_at = ticks(console)[-1]

        job = _storage_move(conn, vm, overlay, new / overlay.name)
        assert job["JobState"] == 7, job["ErrorDescription"]

        assert state(conn, vm) == SAVED
        assert sorted(p.name for p in new.iterdir()) == sorted([disk.name, overlay.name, memory.name])
        assert list(disk.parent.iterdir()) == [] and list(memory_folder.iterdir()) == []
        assert _top(domain, INACTIVE) == new / overlay.name
        assert _backing_of(new / overlay.name) == str(new / disk.name)
        _assert_described_with(domain, new / disk.name, new / overlay.name, new / memory.name)

        # Started, it resumes from its managed save on the moved overlay: no reboot.
        offset = console.stat().st_size
        assert request_state(conn, vm, RUNNING)[0] in (0, 4096) and state(conn, vm) == RUNNING
        resumed = int(re.search(TICK, wait_for_console(console, TICK, after=offset)).group(1))
        assert saved_at < resumed <= saved_at + 2, (saved_at, resumed)
        _assert_counts_on(console)

        assert request_state(conn, vm, SAVED)[0] in (0, 4096) and state(conn, vm) == SAVED
        apply(conn, snapshots_by_id(conn, vm)[snapshot].path)
        offset = console.stat().st_size
        assert request_state(conn, vm, RUNNING)[0] in (0, 4096) and state(conn, vm) == RUNNING
        resumed = int(re.search(TICK, wait_for_console(console, TICK, after=offset)).group(1))
        assert before < resumed <= after + 1, (before, resumed, after)
        assert console.read_bytes().count(b"guest: ready") == 1
        assert _top(domain, 0).parent == new


def test_an_off_vm_with_two_snapshots_moves_its_storage_and_applies_each(host: Host, tmp_path: Path):
    root, disk = _raw_disk(host, "ext-storage-off")
    write(disk, "raw", 0x11)
    name = f"{host.tag}-ext-storage-off"
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(disk, "raw")))
    vm, new = cim_name(domain), root / "new"

    with _server(tmp_path, root) as server:
        conn = server.connection(NS)
        first = conn.GetInstance(take(conn, vm))["InstanceID"]
        overlay = _top(domain, INACTIVE)
        write(overlay, "qcow2", 0x22)
        # The disk is a qcow2 overlay now: the next snapshot is kept inside it.
        second = conn.GetInstance(take(conn, vm))["InstanceID"]
        write(overlay, "qcow2", 0x33)

        job = _storage_move(conn, vm, overlay, new / overlay.name)
        assert job["JobState"] == 7, job["ErrorDescription"]

        moved = new / overlay.name
        assert state(conn, vm) == OFF and _top(domain, INACTIVE) == moved
        assert sorted(p.name for p in new.iterdir()) == sorted([disk.name, overlay.name])
        assert list(disk.parent.iterdir()) == []
        assert _backing_of(moved) == str(new / disk.name) and reads(moved, 0x33)

        apply(conn, snapshots_by_id(conn, vm)[second].path)
        assert _top(domain, INACTIVE) == moved and reads(moved, 0x22)
        apply(conn, snapshots_by_id(conn, vm)[first].path)
        applied = _top(domain, INACTIVE)
        assert applied.parent == new and applied != moved and reads(applied, 0x11), applied


def test_a_failed_copy_of_a_running_guests_overlay_keeps_its_chain_and_its_snapshot(host: Host, tmp_path: Path):
    """The copy of the overlay is cancelled from another libvirt connection
    (as `virsh blockjob --abort`) after the frozen disk was carried: the
    guest keeps running on its old chain, the snapshot still names it, the
    carried copies go, and the job says what happened."""
    root, disk = _raw_disk(host, "ext-storage-failed", "256M")
    name = f"{host.tag}-ext-storage-failed"
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(disk, "raw"), console_append=True))
    vm, new = cim_name(domain), root / "new"

    with _server(tmp_path, root) as server:
        conn = server.connection(NS)
        take(conn, vm)
        overlay = _top(domain, INACTIVE)
        # Data of the overlay's own, which the copy carries at a crawl once slowed.
        subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 192M", str(overlay)], check=True, capture_output=True)
        domain.create()
        console = host.console(domain)
        wait_for_console(console, r"guest: tick 2\b")

        code, out = conn.InvokeMethod("MigrateVirtualSystemToHost", migration_service(conn), ComputerSystem=vm,
                                      DestinationHost=None,
                                      MigrationSettingData=migration_setting(conn, 32769).tocimxmlstr(),
                                      NewResourceSettingData=[placed(conn, vm, overlay, new / overlay.name).tocimxmlstr()])
        assert int(code) == 4096, code
        _slow_down_when_started(domain, "sda")
        assert (new / disk.name).is_file(), "the frozen disk was not carried before the overlay's copy"
        _abort_from_elsewhere(domain, "sda")
        failed = wait_job(conn, out["Job"], 300)

        assert (failed["JobState"], failed["ErrorCode"]) == (EXCEPTION, 32768)
        description = failed["ErrorDescription"]
        assert "stays where it was" in description and "ended before it was in sync" in description, description
        assert state(conn, vm) == RUNNING and _top(domain, 0) == _top(domain, INACTIVE) == overlay
        live = etree.fromstring(domain.XMLDesc(0))
        assert live.find("devices/disk/backingStore/source").get("file") == str(disk)
        assert sorted(p.name for p in disk.parent.iterdir()) == sorted([disk.name, overlay.name])
        assert list(new.iterdir()) == [], "a copy was left behind"
        [snapshot] = domain.listAllSnapshots(0)
        described = etree.fromstring(snapshot.getXMLDesc(0))
        assert [s.get("file") for s in described.iterfind("domain/devices/disk/source")] == [str(disk)]
        assert [s.get("file") for s in described.iterfind("disks/disk/source")] == [str(overlay)]
        assert subprocess.run(["qemu-io", "-r", "-U", "-f", "qcow2", "-c", "read -P 0x5a 0 192M", str(overlay)],
                              capture_output=True).returncode == 0, "the overlay lost what it held"
        _assert_counts_on(console)


def test_a_kill_during_the_copy_of_the_overlay_keeps_the_guest_on_its_chain_at_restart(host: Host, tmp_path: Path):
    """The server is killed (-9) while libvirt copies the overlay, after the
    frozen disk was carried: the restarted server abandons the copy, the
    guest keeps running on its old chain, the snapshot still names it, the
    carried copies are deleted and the job reads failed, interrupted."""
    root, disk = _raw_disk(host, "ext-storage-killed", "256M")
    name = f"{host.tag}-ext-storage-killed"
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(disk, "raw"), console_append=True))
    vm, new = cim_name(domain), root / "new"
    with _server(tmp_path, root) as server:
        take(server.connection(NS), vm)
    overlay = _top(domain, INACTIVE)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 192M", str(overlay)], check=True, capture_output=True)
    domain.create()
    console = host.console(domain)
    wait_for_console(console, r"guest: tick 2\b")

    job = _killed_while_copying(host, domain, root, tmp_path, {overlay: new / overlay.name}, "sda")

    with serve_process(*_serve_args(root, tmp_path)) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        _assert_interrupted(conn.GetInstance(job))
        assert domain.blockJobInfo("sda", 0) == {}, "the copy still runs after the restart"
        assert state(conn, vm) == RUNNING and _top(domain, 0) == _top(domain, INACTIVE) == overlay
        assert etree.fromstring(domain.XMLDesc(0)).find("devices/disk/backingStore/source").get("file") == str(disk)
        assert sorted(p.name for p in disk.parent.iterdir()) == sorted([disk.name, overlay.name])
        assert list(new.iterdir()) == [], "a carried copy was left behind"
        [snapshot] = domain.listAllSnapshots(0)
        described = etree.fromstring(snapshot.getXMLDesc(0))
        assert [s.get("file") for s in described.iterfind("domain/devices/disk/source")] == [str(disk)]
        assert served.stop() == 0
    _assert_counts_on(console)


def test_an_off_vm_on_a_base_image_moves_with_a_copy_of_it_and_leaves_the_base(host: Host, tmp_path: Path):
    """A qcow2 base image no snapshot names may be read by other VMs too: it
    is copied beside the moved disk, which reads through the copy, and stays."""
    root = host.workdir / "ext-storage-base"
    old, new = root / "old", root / "new"
    old.mkdir(mode=0o755, parents=True)
    base, top = old / "base.qcow2", old / "vm.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "32M"], check=True)
    write(base, "qcow2", 0x44)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(top)], check=True)
    name = f"{host.tag}-ext-storage-base"
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(top, "qcow2")))
    vm = cim_name(domain)

    with _server(tmp_path, root) as server:
        conn = server.connection(NS)
        job = _storage_move(conn, vm, top, new / top.name)
        assert job["JobState"] == 7, job["ErrorDescription"]
        assert state(conn, vm) == OFF and _top(domain, INACTIVE) == new / top.name
        assert sorted(p.name for p in new.iterdir()) == sorted([base.name, top.name])
        assert _backing_of(new / top.name) == str(new / base.name) and reads(new / top.name, 0x44)
        assert [p.name for p in old.iterdir()] == [base.name] and reads(base, 0x44)


def _raw_disk(host: Host, label: str, size: str = "32M") -> tuple[Path, Path]:
    """A storage root with an empty raw disk in its folder `old`."""
    root = host.workdir / label
    disk = root / "old" / "plain.raw"
    disk.parent.mkdir(mode=0o755, parents=True)
    root.chmod(0o755)
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(disk), size], check=True)
    return root, disk


def _counting_guest(host: Host, suffix: str, disk: Path) -> libvirt.virDomain:
    name = f"{host.tag}-{suffix}"
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(disk, "raw"), console_append=True))
    domain.create()
    wait_for_console(host.console(domain), r"guest: tick 3\b")
    return domain


def _server(tmp_path: Path, root: Path):
    return in_process_server(tmp_path / "data", backend="libvirt", libvirt_uri="qemu:///system",
                             libvirt_domain_type="qemu", storage_roots=[root])


def _storage_move(conn: pywbem.WBEMConnection, vm: pywbem.CIMInstanceName, disk: Path, target: Path) -> pywbem.CIMInstance:
    """MigrateVirtualSystemToHost with MigrationType 32769, the disk placed at `target`; its finished job."""
    code, out = conn.InvokeMethod("MigrateVirtualSystemToHost", migration_service(conn), ComputerSystem=vm,
                                  DestinationHost=None, MigrationSettingData=migration_setting(conn, 32769).tocimxmlstr(),
                                  NewResourceSettingData=[placed(conn, vm, disk, target).tocimxmlstr()])
    assert int(code) == 4096, code
    return wait_job(conn, out["Job"], 300)


def _top(domain: libvirt.virDomain, flags: int) -> Path:
    return Path(etree.fromstring(domain.XMLDesc(flags)).find("devices/disk/source").get("file"))


def _backing_of(image: Path) -> str | None:
    info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", str(image)],
                                     capture_output=True, text=True, check=True).stdout)
    return info.get("backing-filename")


def _assert_described_with(domain: libvirt.virDomain, frozen: Path, overlay: Path, memory: Path) -> None:
    """libvirt's description of the one snapshot names the moved files."""
    [snapshot] = domain.listAllSnapshots(0)
    described = etree.fromstring(snapshot.getXMLDesc(0))
    assert [s.get("file") for s in described.iterfind("domain/devices/disk/source")] == [str(frozen)]
    assert [s.get("file") for s in described.iterfind("disks/disk/source")] == [str(overlay)]
    assert described.find("memory").get("file") == str(memory)


def _assert_counts_on(console: Path) -> None:
    """The guest kept counting: no reboot."""
    last = ticks(console)[-1]
    wait_for_console(console, rf"guest: tick {last + 3}\b", after=0)
    counted = ticks(console)
    assert counted == list(range(1, len(counted) + 1)), counted
    assert console.read_bytes().count(b"guest: ready") == 1
