"""Tier 2: a storage migration of a running guest cut short by kill -9 of
the server, on real QEMU. libvirtd runs the block copy, not the server, so
the killed server leaves it mirroring into the new file with nobody to
switch the guest over or abandon it. The restarted server abandons it:
the guest keeps running on its old disk (it never reboots), the partial
copy is deleted, and the migration job reads failed, interrupted. With
two disks, copied one after the other, a kill during the second's copy
leaves the first switched: it stays on its copy (its old file goes), the
second on its old file (its partial copy goes) — no disk the guest reads
is deleted. So too when the second's copy fails with the server running
(aborted from another libvirt connection, as `virsh blockjob --abort`):
the job fails saying which disk moved and which stayed. A qcow2 disk holding an internal snapshot is copied into an
image prepared from its file: a kill during that copy deletes the prepared
image too, and the snapshot stays in the old disk, described with it.

The copy is slowed through libvirt (the job's bandwidth, set the moment
the job appears, on a disk whose every byte is data) so the kill lands
while it runs; the test checks it does."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import libvirt
import pywbem
from lxml import etree

import guest
from qemu_host import URI, Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from migration_support import cim_name, ticks
from tests.integration.migration.two_hosts import migration_service, migration_setting
from tests.integration.model.hyperv import NS, settings_of, state, wait_job
from tests.integration.storage.vm_client import disk_paths
from tests.support.live import serve_process

RUNNING, EXCEPTION = 2, 10
BIG_MIB = 512
SLOW_MIB_PER_SECOND = 1


def test_a_live_disk_copy_cut_short_by_a_kill_is_abandoned_at_restart(host: Host, tmp_path: Path) -> None:
    root = host.workdir / "cut-copy"
    disk = _data_disk(root / "old" / "big.img", BIG_MIB)
    copy = root / "new" / "big.img"
    domain = _running_guest(host, "cut-copy", [disk])
    job = _killed_while_copying(host, domain, root, tmp_path, {disk: copy}, "sda")

    with serve_process(*_serve_args(root, tmp_path)) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        _assert_interrupted(conn.GetInstance(job))
        assert domain.blockJobInfo("sda", 0) == {}, "the copy still runs after the restart"
        assert _sources(domain, 0) == _sources(domain, libvirt.VIR_DOMAIN_XML_INACTIVE) == [str(disk)]
        vm = cim_name(domain)
        assert state(conn, vm) == RUNNING and disk_paths(conn, vm) == [str(disk)]
        assert disk.is_file() and not copy.exists()
        assert served.stop() == 0
    _assert_counts_on(host.console(domain))


def test_a_kill_between_two_disks_keeps_each_on_the_file_it_reads(host: Host, tmp_path: Path) -> None:
    root = host.workdir / "cut-between"
    first, second = _data_disk(root / "old" / "first.img", 8), _data_disk(root / "old" / "second.img", BIG_MIB)
    first_copy, second_copy = root / "new" / "first.img", root / "new" / "second.img"
    domain = _running_guest(host, "cut-between", [first, second])
    job = _killed_while_copying(host, domain, root, tmp_path, {first: first_copy, second: second_copy}, "sdb")

    with serve_process(*_serve_args(root, tmp_path)) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        _assert_interrupted(conn.GetInstance(job))
        assert domain.blockJobInfo("sdb", 0) == {}, "the copy still runs after the restart"
        on = [str(first_copy), str(second)]
        assert _sources(domain, 0) == _sources(domain, libvirt.VIR_DOMAIN_XML_INACTIVE) == on
        vm = cim_name(domain)
        assert state(conn, vm) == RUNNING and sorted(disk_paths(conn, vm)) == sorted(on)
        assert first_copy.is_file() and second.is_file()
        assert not first.exists() and not second_copy.exists()
        assert served.stop() == 0
    _assert_counts_on(host.console(domain))


def test_a_failed_copy_of_the_second_disk_keeps_the_first_on_its_copy(host: Host, tmp_path: Path) -> None:
    root = host.workdir / "failed-second"
    first, second = _data_disk(root / "old" / "first.img", 8), _data_disk(root / "old" / "second.img", BIG_MIB)
    first_copy, second_copy = root / "new" / "first.img", root / "new" / "second.img"
    domain = _running_guest(host, "failed-second", [first, second])

    with serve_process(*_serve_args(root, tmp_path)) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        job = _slowed_move(conn, domain, {first: first_copy, second: second_copy}, "sdb")
        assert _sources(domain, 0)[0] == str(first_copy), "the first disk was not switched before the second's copy"
        _abort_from_elsewhere(domain, "sdb")
        failed = wait_job(conn, job)
        assert (failed["JobState"], failed["ErrorCode"]) == (EXCEPTION, 32768)
        description = failed["ErrorDescription"]
        assert f"{first} moved to {first_copy}" in description and f"{second} stays where it was" in description, description
        assert "the copy of disk sdb ended before it was in sync" in description, description
        on = [str(first_copy), str(second)]
        assert _sources(domain, 0) == _sources(domain, libvirt.VIR_DOMAIN_XML_INACTIVE) == on
        vm = cim_name(domain)
        assert state(conn, vm) == RUNNING and sorted(disk_paths(conn, vm)) == sorted(on)
        assert first_copy.is_file() and second.is_file() and not first.exists()
        assert sorted(p.name for p in first_copy.parent.iterdir()) == ["first.img"], "a copy was left behind"
        assert served.stop() == 0
    _assert_counts_on(host.console(domain))


def test_a_kill_during_the_copy_into_a_prepared_image_deletes_it_and_keeps_the_snapshot(host: Host, tmp_path: Path) -> None:
    root = host.workdir / "cut-snapshot"
    raw = _data_disk(root / "old" / "big.img", BIG_MIB)
    disk = root / "old" / "big.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(disk)], check=True)
    raw.unlink()
    copy = root / "new" / "big.qcow2"
    domain = _running_guest(host, "cut-snapshot", [disk], "qcow2")
    domain.snapshotCreateXML("<domainsnapshot><name>kept</name></domainsnapshot>", 0)
    job = _killed_while_copying(host, domain, root, tmp_path, {disk: copy}, "sda")

    with serve_process(*_serve_args(root, tmp_path)) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        _assert_interrupted(conn.GetInstance(job))
        assert domain.blockJobInfo("sda", 0) == {}, "the copy still runs after the restart"
        assert _sources(domain, 0) == _sources(domain, libvirt.VIR_DOMAIN_XML_INACTIVE) == [str(disk)]
        assert disk.is_file() and not copy.exists()
        [kept] = domain.listAllSnapshots(0)
        described = etree.fromstring(kept.getXMLDesc(0))
        assert [s.get("file") for s in described.iterfind("domain/devices/disk/source")] == [str(disk)]
        info = subprocess.run(["qemu-img", "snapshot", "-U", "-l", str(disk)], check=True, capture_output=True, text=True)
        assert "kept" in info.stdout, info.stdout
        assert served.stop() == 0
    _assert_counts_on(host.console(domain))


def _data_disk(path: Path, mib: int) -> Path:
    """A raw disk whose every byte is data (a copy has all of it to carry)."""
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    subprocess.run(["dd", "if=/dev/urandom", f"of={path}", "bs=1M", f"count={mib}", "status=none"], check=True)
    return path


def _running_guest(host: Host, suffix: str, disks: list[Path], fmt: str = "raw") -> libvirt.virDomain:
    name = f"{host.tag}-{suffix}"
    host.domains.append(name)
    xml = guest.domain_xml(name, host.workdir, host.initrd, disk=(disks[0], fmt), console_append=True)
    for letter, disk in zip("bcd", disks[1:]):
        xml = xml.replace("</devices>", f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                                        f"<source file='{disk}'/><target dev='sd{letter}' bus='scsi'/></disk></devices>")
    domain = host.conn.defineXML(xml)
    domain.create()
    wait_for_console(host.console(domain), r"guest: tick 2\b")
    return domain


def _serve_args(root: Path, tmp_path: Path) -> tuple[str, ...]:
    return ("--port", "0", "--data-dir", str(tmp_path / "data"), "--backend", "libvirt", "--libvirt-uri", URI,
            "--libvirt-domain-type", "qemu", "--storage-root", str(root))


def _killed_while_copying(host: Host, domain: libvirt.virDomain, root: Path, tmp_path: Path, moves: dict[Path, Path],
                          slowed: str) -> pywbem.CIMInstanceName:
    """Start the storage migration over CIM, slow the copy of disk `slowed`
    the moment it begins, and kill the server while it runs; the job."""
    with serve_process(*_serve_args(root, tmp_path)) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        job = _slowed_move(conn, domain, moves, slowed)
        assert served.stop(signal.SIGKILL) == -signal.SIGKILL
    assert domain.blockJobInfo(slowed, 0), "the copy is libvirtd's: it outlives the server"
    return job


def _slowed_move(conn: pywbem.WBEMConnection, domain: libvirt.virDomain, moves: dict[Path, Path],
                 slowed: str) -> pywbem.CIMInstanceName:
    """Start the storage migration over CIM and slow the copy of disk
    `slowed` the moment it begins; the job, its copy still running."""
    vm = cim_name(domain)
    placed = []
    for disk, copy in moves.items():
        sasd = next(s for s in settings_of(conn, "Msvm_StorageAllocationSettingData", vm) if s["HostResource"] == [str(disk)])
        sasd["HostResource"] = [str(copy)]
        placed.append(sasd.tocimxmlstr())
    code, out = conn.InvokeMethod("MigrateVirtualSystemToHost", migration_service(conn), ComputerSystem=vm,
                                  DestinationHost=None, MigrationSettingData=migration_setting(conn, 32769).tocimxmlstr(),
                                  NewResourceSettingData=placed)
    assert int(code) == 4096, code
    _slow_down_when_started(domain, slowed)
    info = domain.blockJobInfo(slowed, 0)
    assert info and info["cur"] < info["end"], f"the copy ended before it could be slowed: {info}"
    assert moves[Path(_mirror_of(domain, slowed))].exists()
    return out["Job"]


def _slow_down_when_started(domain: libvirt.virDomain, target: str) -> None:
    """As soon as libvirt runs the copy, limit it to a crawl."""
    deadline = time.monotonic() + 120
    while not domain.blockJobInfo(target, 0):  # no pause between polls: the copy runs at full speed until slowed
        assert time.monotonic() < deadline, f"libvirt never started the copy of {target}"
    domain.blockJobSetSpeed(target, SLOW_MIB_PER_SECOND, 0)


def _abort_from_elsewhere(domain: libvirt.virDomain, target: str) -> None:
    """What `virsh blockjob --abort` does: cancel the copy on another
    connection than the server's, so the server sees its copy fail."""
    other = libvirt.open(URI)
    try:
        other.lookupByUUIDString(domain.UUIDString()).blockJobAbort(target, 0)
    finally:
        other.close()


def _mirror_of(domain: libvirt.virDomain, target: str) -> str:
    """The disk (its old path) whose copy runs on `target`."""
    disk = next(d for d in etree.fromstring(domain.XMLDesc(0)).iterfind("devices/disk")
                if d.find("target").get("dev") == target)
    return disk.find("source").get("file")


def _sources(domain: libvirt.virDomain, flags: int) -> list[str]:
    return [s.get("file") for s in etree.fromstring(domain.XMLDesc(flags)).iterfind("devices/disk/source")]


def _assert_interrupted(job: pywbem.CIMInstance) -> None:
    assert (job["JobState"], job["ErrorCode"]) == (EXCEPTION, 32768)
    assert "interrupted" in job["ErrorDescription"], job["ErrorDescription"]


def _assert_counts_on(console: Path) -> None:
    """The guest kept counting: no reboot."""
    last = ticks(console)[-1]
    wait_for_console(console, rf"guest: tick {last + 2}\b", after=0)
    counted = ticks(console)
    assert counted == list(range(1, len(counted) + 1)), counted
    assert console.read_bytes().count(b"guest: ready") == 1
