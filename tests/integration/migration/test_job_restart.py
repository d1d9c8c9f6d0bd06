"""A migration job's own properties (MigrationType, VirtualSystemName,
DestinationHost) are kept with the job: after the source server restarts,
the job a client polls still says what it moved, and where."""

from __future__ import annotations

import pytest

from tests.integration.migration.two_hosts import destination_host, migrate, migration_service, migration_setting, source_host
from tests.integration.model.hyperv import settings_of, wait_job
from tests.integration.storage.vhd_client import create
from tests.integration.storage.vm_client import vm_with_disk


def test_a_migration_job_says_what_it_moved_after_a_restart(tmp_path: pytest.TempPathFactory):
    with destination_host(tmp_path) as b:
        with source_host(tmp_path, b.live.url) as a:
            image = a.root / "kept" / "kept.vhd"
            image.parent.mkdir()
            create(a.conn, image)
            vm = vm_with_disk(a.conn, "kept-vm", image)
            sasd = next(d for d in settings_of(a.conn, "Msvm_StorageAllocationSettingData", vm)
                        if d["ResourceSubType"] == "Microsoft:Hyper-V:Virtual Hard Disk")
            sasd["HostResource"] = [str(b.root / "kept" / "kept.vhd")]
            moved = migrate(a.conn, vm, "hostb", resources=[sasd])
            assert moved["JobState"] == 7, moved["ErrorDescription"]
            # A check that fails: the disk keeps its path, outside hostb's storage roots.
            other = vm_with_disk(a.conn, "checked-vm", _disk(a, "checked"))
            code, out = a.conn.InvokeMethod("CheckVirtualSystemIsMigratableToHost", migration_service(a.conn), ComputerSystem=other,
                                            DestinationHost="hostb", MigrationSettingData=migration_setting(a.conn, 32768).tocimxmlstr())
            assert int(code) == 4096
            checked = wait_job(a.conn, out["Job"])
            assert checked["JobState"] == 10
        with source_host(tmp_path, b.live.url) as again:
            after = again.conn.GetInstance(moved.path)
            assert (after["MigrationType"], after["VirtualSystemName"], after["DestinationHost"]) == (32771, vm["Name"], "hostb")
            assert after["JobState"] == 7 and after["PercentComplete"] == 100
            check_after = again.conn.GetInstance(checked.path)
            assert (check_after["MigrationType"], check_after["VirtualSystemName"]) == (32768, other["Name"])
            assert check_after["ErrorDescription"] == checked["ErrorDescription"]
            described = {j["InstanceID"] for j in again.conn.EnumerateInstances("Msvm_MigrationJob") if j["MigrationType"]}
            assert described == {moved["InstanceID"], checked["InstanceID"]}


def _disk(host, name: str):
    image = host.root / name / f"{name}.vhd"
    image.parent.mkdir()
    create(host.conn, image)
    return image
