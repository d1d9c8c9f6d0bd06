"""Disks that keep their paths: a migration without NewResourceSettingData
(or with the VM's SASDs unchanged, as os-win's live_migrate_vm sends them)
puts each disk at its own path on the destination. Both hosts here see one
folder at the same path (each has it among its storage roots), as hosts on
shared storage do: the destination's path is then the source's own file.
The move needs AllowOverwriteExistingFile and ends with the VM on the
destination reading its disk where it was, the data intact; without it
the move is refused and nothing changes; and a move undone half-way never
takes the source's disk away."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pywbem import Uint16

from tests.integration.migration.two_hosts import exists, migrate, migration_service, migration_setting, source_and_destination
from tests.integration.model.hyperv import NS, request_state, settings_of, state, wait_job
from tests.integration.storage.vhd_client import create
from tests.integration.storage.vm_client import attach_disk, disk_paths, vm_with_disk
from tests.support.waiting import wait_until

RUNNING, OFF, COMPLETED, TERMINATED, EXCEPTION = 2, 3, 7, 8, 10


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keep-paths") / "shared-storage"


@pytest.fixture(scope="module")
def hosts(shared: Path):
    with source_and_destination(shared.parent, shared=(shared,)) as hosts:
        yield hosts


def qemu_io(path: Path, command: str) -> None:
    result = subprocess.run(["qemu-io", "-f", "vpc", "-c", command, str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and "verification failed" not in result.stdout, result.stdout + result.stderr


def written_disk(a, path: Path, pattern: str = "0x5a", length: str = "64k") -> Path:
    """A new VHD at `path` whose first `length` bytes hold `pattern`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    create(a.conn, path)
    qemu_io(path, f"write -P {pattern} 0 {length}")
    return path


def vhd_sasds(conn, vm) -> list:
    return [d for d in settings_of(conn, "Msvm_StorageAllocationSettingData", vm)
            if d["ResourceSubType"] == "Microsoft:Hyper-V:Virtual Hard Disk"]


def test_without_new_settings_a_running_vm_moves_and_reads_its_disk_at_the_same_path(hosts, shared):
    a, b = hosts
    image = written_disk(a, shared / "same" / "same.vhd")
    vm = vm_with_disk(a.conn, "same-path", image)
    assert request_state(a.conn, vm, RUNNING)[0] == 4096
    job = migrate(a.conn, vm, "hostb", AllowOverwriteExistingFile=True)
    assert job["JobState"] == COMPLETED, job["ErrorDescription"]
    assert not exists(a.conn, vm), "the source still owns the VM"
    assert state(b.conn, vm) == RUNNING
    assert disk_paths(b.conn, vm) == [str(image)]
    qemu_io(image, "read -P 0x5a 0 64k")  # the data the VM had, where it had it
    qemu_io(image, "read -P 0 64k 64k")
    assert sorted(p.name for p in image.parent.iterdir()) == ["same.vhd"]
    assert request_state(b.conn, vm, OFF)[0] == 4096 and state(b.conn, vm) == OFF


def test_unchanged_sasds_as_new_settings_move_each_disk_to_its_own_path(hosts, shared):
    """os-win's live_migrate_vm with its disks: every VHD's SASD as the VM has it."""
    a, b = hosts
    image = written_disk(a, shared / "oswin-same" / "oswin-same.vhd", "0x6b")
    vm = vm_with_disk(a.conn, "oswin-same", image)
    assert request_state(a.conn, vm, RUNNING)[0] == 4096
    job = migrate(a.conn, vm, "hostb", resources=vhd_sasds(a.conn, vm), AllowOverwriteExistingFile=True)
    assert job["JobState"] == COMPLETED, job["ErrorDescription"]
    assert not exists(a.conn, vm) and state(b.conn, vm) == RUNNING
    assert disk_paths(b.conn, vm) == [str(image)]
    qemu_io(image, "read -P 0x6b 0 64k")


def test_without_allow_overwrite_the_path_is_refused_as_taken_and_nothing_moves(hosts, shared):
    a, b = hosts
    image = written_disk(a, shared / "taken" / "taken.vhd")
    vm = vm_with_disk(a.conn, "taken-path", image)
    job = migrate(a.conn, vm, "hostb")
    assert job["JobState"] == EXCEPTION
    assert f"{image} already exists on the destination host" in job["ErrorDescription"], job["ErrorDescription"]
    assert "AllowOverwriteExistingFile" in job["ErrorDescription"]
    assert exists(a.conn, vm) and state(a.conn, vm) == OFF and not exists(b.conn, vm)
    qemu_io(image, "read -P 0x5a 0 64k")


def test_a_move_cancelled_after_a_disk_arrived_leaves_the_source_its_disks(hosts, shared):
    """The first disk has arrived (at its own path: the source's file) when
    the move is cancelled during the second: the destination drops what it
    received, but a file that was at its path before it came is not its to
    remove."""
    a, b = hosts
    first = written_disk(a, shared / "undone" / "first.vhd")
    second = written_disk(a, shared / "undone" / "second.vhd", "0x6b", "3M")
    vm = vm_with_disk(a.conn, "undone", first)
    attach_disk(a.conn, vm, second, slot="1")
    # at 1 Mbit/s the second disk's 3 MiB take seconds: the cancel comes while it is on its way
    code, out = a.conn.InvokeMethod(
        "MigrateVirtualSystemToHost", migration_service(a.conn), ComputerSystem=vm, DestinationHost="hostb",
        MigrationSettingData=migration_setting(a.conn, AllowOverwriteExistingFile=True, Bandwidth=Uint16(1)).tocimxmlstr())
    assert int(code) == 4096
    partial = second.with_name("second.vhd.migrating")
    wait_until(lambda: partial.exists() and partial.stat().st_size > 0, "the second disk on its way")
    assert a.conn.InvokeMethod("RequestStateChange", out["Job"], RequestedState=Uint16(4))[0] == 0
    job = wait_job(a.conn, out["Job"])
    assert job["JobState"] == TERMINATED, (job["JobState"], job["ErrorDescription"])
    assert exists(a.conn, vm) and not exists(b.conn, vm)
    assert disk_paths(a.conn, vm) == [str(first), str(second)]
    qemu_io(first, "read -P 0x5a 0 64k")
    qemu_io(second, "read -P 0x6b 0 3M")
    assert sorted(p.name for p in first.parent.iterdir()) == ["first.vhd", "second.vhd"]
    assert request_state(a.conn, vm, RUNNING)[0] == 4096 and state(a.conn, vm) == RUNNING
