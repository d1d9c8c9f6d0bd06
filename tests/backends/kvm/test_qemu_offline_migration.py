"""Off and saved VMs between two KVM hosts on real QEMU (libvirt copies no
storage offline, so they travel as files over the upload channel): two
libvirtd instances on this machine (the suite's, and a second one the test
starts), a cimprovider server on each.

An off VM arrives off, defined on the destination's libvirt with its disk
where NewResourceSettingData puts it, byte for byte, and its snapshot
(inside the qcow2 disk) with it: applied there, the disk reads as it did
when the snapshot was taken. The source has neither the VM nor the disk. A saved counting guest arrives saved, with
its memory, and started there counts on from where it was saved. Then
`cimprovider vm move --quick` takes it back while it runs (save, move,
restore): it runs on the first host again and never rebooted."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import libvirt
from click.testing import CliRunner

from migration_support import (
    OFF, RUNNING, SAVED, apply, assert_counts_on, change_state, cim_name, move, new_guest, placed, qemu_io, reads,
    start_counting, storage_roots, ticks, two_hosts,
)
from qemu_host import Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from cimprovider.cli.main import cli
from tests.integration.migration.two_hosts import ADMIN, exists, wait_until
from tests.integration.storage.snapshots_client import take
from tests.integration.model.hyperv import state


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_cli(url: str, *args: str):
    environment = {k: None for k in os.environ if k.startswith("CIMPROVIDER_")}
    environment.update({"CIMPROVIDER_SERVER": url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull,
                        "CIMPROVIDER_USER": ADMIN[0], "CIMPROVIDER_PASSWORD": ADMIN[1]})
    return CliRunner(mix_stderr=False).invoke(cli, list(args), env=environment, catch_exceptions=False)


def test_off_and_saved_guests_move_as_files_and_quick_migration_resumes_the_count(host: Host, tmp_path: Path):
    a_root, b_root = storage_roots(host, "quick-host-a", "quick-host-b")
    off, off_disk = new_guest(host, a_root, "off")
    counting, disk = new_guest(host, a_root, "counting")
    console = start_counting(host, counting)
    off_vm, vm = cim_name(off), cim_name(counting)

    with two_hosts(host, tmp_path, a_root, b_root) as hosts:
        a_conn, b_conn = hosts.a_conn, hosts.b_conn
        b_libvirt = libvirt.open(hosts.b_uri)

        # Off, with a snapshot taken before the disk changed: defined on
        # the destination, off, its disk copied byte for byte, the snapshot along.
        snapshot = take(a_conn, off_vm)
        a_snapshot_name = a_conn.GetInstance(snapshot)["ElementName"]
        qemu_io(off_disk, "write -P 0x33 0 1M")
        off_sum = sha256(off_disk)
        # Refused by the destination (a path outside its storage roots):
        # the VM stays here, off, with its disk; the destination has nothing.
        refused = move(a_conn, off_vm, placed(a_conn, off_vm, off_disk, a_root / "elsewhere.qcow2"))
        assert refused["JobState"] == 10 and "storage roots" in refused["ErrorDescription"], refused["ErrorDescription"]
        assert state(a_conn, off_vm) == OFF and sha256(off_disk) == off_sum
        assert b_libvirt.listAllDomains() == [] and list(b_root.iterdir()) == []
        target = b_root / "off" / "off.qcow2"
        job = move(a_conn, off_vm, placed(a_conn, off_vm, off_disk, target))
        assert job["JobState"] == 7, job["ErrorDescription"]
        assert state(b_conn, off_vm) == OFF and not exists(a_conn, off_vm)
        arrived = b_libvirt.lookupByUUIDString(off.UUIDString())
        assert arrived.isPersistent() and not arrived.isActive()
        assert target.is_file() and sha256(target) == off_sum and not off_disk.exists()
        assert arrived.snapshotNum(0) == 1 and arrived.hasCurrentSnapshot(0)
        assert b_conn.GetInstance(snapshot)["ElementName"] == a_snapshot_name
        assert reads(target, 0x33)
        apply(b_conn, snapshot)
        assert reads(target, 0x5a)

        # Saved: arrives saved with its memory, and counts on once started there.
        change_state(a_conn, vm, SAVED)
        last = ticks(console)[-1]
        target = b_root / "saved" / "counting.qcow2"
        job = move(a_conn, vm, placed(a_conn, vm, disk, target))
        assert job["JobState"] == 7, job["ErrorDescription"]
        assert state(b_conn, vm) == SAVED and not exists(a_conn, vm)
        assert b_libvirt.lookupByUUIDString(counting.UUIDString()).hasManagedSaveImage(0)
        assert sorted(p.name for p in target.parent.iterdir()) == ["counting.qcow2"] and not disk.exists()
        change_state(b_conn, vm, RUNNING)
        wait_for_console(console, rf"guest: tick {last + 3}\b", after=0)

        # Quick migration back while it runs (the first host by its URL, as
        # it signs no one in): saved, moved, restored; it runs there again.
        result = run_cli(hosts.b.url, "vm", "move", counting.name(), "--to", hosts.a.url, "--quick",
                         "--storage-path", str(a_root / "back"))
        assert result.exit_code == 0, result.stderr
        assert state(a_conn, vm) == RUNNING and not exists(b_conn, vm)
        wait_until(lambda: host.conn.lookupByUUIDString(counting.UUIDString()).isActive(), "running on the first host")
        assert (a_root / "back" / "counting.qcow2").is_file() and not target.exists()
        assert_counts_on(console)
        assert console.read_bytes().count(b"guest: ready") == 1
