"""The source killed (-9) once the destination has adopted the VM but
before the source let it go: after the source's restart exactly one host
owns the VM — the destination, in the state the VM had — and its disk is
neither lost on the destination nor left behind on the source.

The seam: the test takes the source's simulated store's write lock
(SQLite, BEGIN IMMEDIATE) before the migration starts. Nothing the source
does up to the commit writes to that store; letting the VM go (one
transaction) is the first thing that does, so it waits there, after the
destination answered the commit, until the source is killed."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.integration.migration.test_disks_keep_their_paths import qemu_io
from tests.integration.migration.test_faults import connect, serve_host, source_and_destination, start_migration
from tests.integration.migration.test_pending_settle import AdoptionHeld, outgoing_phase
from tests.integration.migration.two_hosts import ADMIN, exists
from tests.integration.model.hyperv import request_state, state, wait_job
from tests.integration.storage.vhd_client import create
from tests.integration.storage.vm_client import disk_paths, vm_with_disk
from tests.support.waiting import DEADLINE, wait_until

RUNNING, OFF = 2, 3


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def stored_vm_ids(held: AdoptionHeld) -> list[str]:
    """The VMs the source's store holds, read under the test's own lock."""
    return [row[0] for row in held.db.execute("SELECT id FROM vms").fetchall()]


def running_vm_with_written_disk(conn, a_root: Path, name: str, pattern: int):
    """A running VM on a new VHD (in its folder `name`) holding `pattern` in its first 64 KiB."""
    image = a_root / name / f"{name}.vhd"
    image.parent.mkdir(parents=True)
    create(conn, image)
    qemu_io(image, f"write -P {pattern:#x} 0 64k")
    vm = vm_with_disk(conn, f"{name}-release", image)
    assert request_state(conn, vm, RUNNING)[0] == 4096 and state(conn, vm) == RUNNING
    return vm, image


def test_source_killed_after_the_destination_adopted_the_vm_lets_it_go_at_restart(tmp_path: Path):
    a_data, a_root, b_root = tmp_path / "hosta-data", tmp_path / "hosta-storage", tmp_path / "hostb-storage"
    with source_and_destination(tmp_path) as (a, b, _users, peers):
        conn, b_conn = connect(a), connect(b, ADMIN)
        vm, image = running_vm_with_written_disk(conn, a_root, "late", 0x5a)
        target = b_root / "late" / "late.vhd"
        held = AdoptionHeld(a_data)
        try:
            start_migration(conn, vm, target)
            wait_until(lambda: exists(b_conn, vm), "the VM adopted by hostb")
            # hostb owns the VM, and the source has not let it go: both hosts have it now
            assert outgoing_phase(a_data) == "committing"
            assert stored_vm_ids(held) == [vm.keybindings["Name"].lower()]
            assert a.stop(signal.SIGKILL) == -signal.SIGKILL
        finally:
            held.release()
        assert image.exists(), "the source removed its disk before it let the VM go"
        with serve_host(tmp_path, "hosta", "--peers", str(peers)) as again:
            conn = connect(again)
            # the restarted source asks hostb, which has the VM: it lets the VM go
            wait_until(lambda: outgoing_phase(a_data) is None, "the migration settled on the source")
            assert not exists(conn, vm), "the VM is on both hosts"
            assert state(b_conn, vm) == RUNNING
            assert disk_paths(b_conn, vm) == [str(target)]
            qemu_io(target, "read -P 0x5a 0 64k")
            assert files(b_root) == [target], "a file of the migration was left over on the destination"
            assert files(a_root) == [], "the source kept a disk of the VM it let go"
            assert request_state(b_conn, vm, OFF)[0] == 4096 and state(b_conn, vm) == OFF


def test_a_source_that_cannot_let_the_vm_go_keeps_its_disk_and_tries_again(tmp_path: Path):
    """The source's store refuses the release (locked past SQLite's busy
    timeout) after hostb took the VM: the job says so, the source keeps its
    disk and the VM held, and lets both go once its store works again."""
    a_data, a_root, b_root = tmp_path / "hosta-data", tmp_path / "hosta-storage", tmp_path / "hostb-storage"
    with source_and_destination(tmp_path) as (a, b, _users, _peers):
        conn, b_conn = connect(a), connect(b, ADMIN)
        vm, image = running_vm_with_written_disk(conn, a_root, "stuck", 0x3c)
        target = b_root / "stuck" / "stuck.vhd"
        held = AdoptionHeld(a_data)
        try:
            job = wait_job(conn, start_migration(conn, vm, target), timeout=DEADLINE * 2)
            assert job["JobState"] == 10
            assert "has the VM, but this host could not let it go" in job["ErrorDescription"], job["ErrorDescription"]
            assert image.exists(), "the source removed the disk of a VM it still defines"
            assert stored_vm_ids(held) == [vm.keybindings["Name"].lower()]
            assert outgoing_phase(a_data) == "committing"
        finally:
            held.release()
        wait_until(lambda: outgoing_phase(a_data) is None, "the migration settled on the source", timeout=DEADLINE * 2)
        assert not exists(conn, vm) and state(b_conn, vm) == RUNNING
        qemu_io(target, "read -P 0x3c 0 64k")
        assert files(a_root) == [], "the source kept a disk of the VM it let go"
