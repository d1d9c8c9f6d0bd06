"""Tier 2: a storage migration of a running guest cut short by kill -9 of
the server, on real QEMU. libvirtd runs the block copy, not the server, so
the killed server leaves it mirroring into the new file with nobody to
switch the guest over or abandon it. The restarted server abandons it:
the guest keeps running on its old disk (it never reboots), the partial
copy is deleted, and the migration job reads failed, interrupted.

The copy is slowed through libvirt (the job's bandwidth, set the moment
the job appears, on a disk whose every byte is data) so the kill lands
while it runs; the test checks it does."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pywbem
from lxml import etree

import guest
from qemu_host import URI, Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from test_qemu_migration import ticks
from test_qemu_offline_migration import cim_name
from tests.integration.migration.two_hosts import migration_service, migration_setting
from tests.integration.model.hyperv import NS, settings_of, state
from tests.integration.storage.vm_client import disk_paths
from tests.support.live import serve_process

RUNNING, EXCEPTION = 2, 10
DISK_MIB = 512
SLOW_MIB_PER_SECOND = 1


def test_a_live_disk_copy_cut_short_by_a_kill_is_abandoned_at_restart(host: Host, tmp_path: Path) -> None:
    root = host.workdir / "cut-copy"
    (root / "old").mkdir(mode=0o755, parents=True)
    disk, copy = root / "old" / "big.img", root / "new" / "big.img"
    subprocess.run(["dd", "if=/dev/urandom", f"of={disk}", "bs=1M", f"count={DISK_MIB}", "status=none"], check=True)
    name = f"{host.tag}-cut-copy"
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(disk, "raw"), console_append=True))
    domain.create()
    console = host.console(domain)
    wait_for_console(console, r"guest: tick 2\b")
    vm = cim_name(domain)
    args = ("--port", "0", "--data-dir", str(tmp_path / "data"), "--backend", "libvirt", "--libvirt-uri", URI,
            "--libvirt-domain-type", "qemu", "--storage-root", str(root))

    with serve_process(*args) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        sasd = next(s for s in settings_of(conn, "Msvm_StorageAllocationSettingData", vm) if s["HostResource"] == [str(disk)])
        sasd["HostResource"] = [str(copy)]
        code, out = conn.InvokeMethod("MigrateVirtualSystemToHost", migration_service(conn), ComputerSystem=vm,
                                      DestinationHost=None, MigrationSettingData=migration_setting(conn, 32769).tocimxmlstr(),
                                      NewResourceSettingData=[sasd.tocimxmlstr()])
        assert int(code) == 4096, code
        job = out["Job"]
        _slow_down_when_started(domain)
        info = domain.blockJobInfo("sda", 0)
        assert info and info["cur"] < info["end"], f"the copy ended before it could be slowed: {info}"
        assert copy.exists()
        assert served.stop(signal.SIGKILL) == -signal.SIGKILL
    assert domain.blockJobInfo("sda", 0), "the copy is libvirtd's: it outlives the server"

    with serve_process(*args) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        failed = conn.GetInstance(job)
        assert (failed["JobState"], failed["ErrorCode"]) == (EXCEPTION, 32768)
        assert "interrupted" in failed["ErrorDescription"], failed["ErrorDescription"]
        assert domain.blockJobInfo("sda", 0) == {}, "the copy still runs after the restart"
        live = etree.fromstring(domain.XMLDesc(0))
        assert live.find("devices/disk/mirror") is None
        assert [s.get("file") for s in live.iterfind("devices/disk/source")] == [str(disk)]
        assert state(conn, vm) == RUNNING and disk_paths(conn, vm) == [str(disk)]
        assert disk.is_file() and not copy.exists()
        assert served.stop() == 0

    # It kept counting on its old disk: no reboot.
    last = ticks(console)[-1]
    wait_for_console(console, rf"guest: tick {last + 2}\b", after=0)
    counted = ticks(console)
    assert counted == list(range(1, len(counted) + 1)), counted
    assert console.read_bytes().count(b"guest: ready") == 1


def _slow_down_when_started(domain) -> None:  # type: ignore[no-untyped-def]
    """As soon as libvirt runs the copy, limit it to a crawl."""
    deadline = time.monotonic() + 120
    while not domain.blockJobInfo("sda", 0):  # no pause between polls: the copy runs at full speed until slowed
        assert time.monotonic() < deadline, "libvirt never started the copy"
    domain.blockJobSetSpeed("sda", SLOW_MIB_PER_SECOND, 0)

