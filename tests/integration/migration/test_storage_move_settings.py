"""Storage migration on one host (MigrationType 32769) honours the
service's MaximumActiveStorageMigration (moves beyond it wait their turn,
as Hyper-V queues them) and the migration's RetainVhdCopiesOnSource and
AvoidRemovingVHDs (the old files stay, the VM reads the new ones)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pywbem import Uint32

from tests.integration.migration.two_hosts import Host, migration_service, migration_setting
from tests.integration.model.hyperv import settings_of, wait_job
from tests.integration.storage.test_kill_during_job import big_source
from tests.integration.storage.vm_client import disk_paths, vm_with_disk
from tests.support.live import in_process_server


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("storage-moves")
    with in_process_server(base / "data", storage_roots=[base / "storage"]) as live:
        yield Host(live, base / "storage")


def vm_on_big_disk(host: Host, name: str):
    image = host.root / name / f"{name}.vhd"
    image.parent.mkdir(parents=True)
    big_source(image)
    return vm_with_disk(host.conn, name, image), image


def start_storage_move(host: Host, vm, image: Path, target: Path, **settings: object):
    sasd = next(s for s in settings_of(host.conn, "Msvm_StorageAllocationSettingData", vm) if s["HostResource"] == [str(image)])
    sasd["HostResource"] = [str(target)]
    code, out = host.conn.InvokeMethod(
        "MigrateVirtualSystemToHost", migration_service(host.conn), ComputerSystem=vm, DestinationHost=None,
        MigrationSettingData=migration_setting(host.conn, 32769, **settings).tocimxmlstr(),
        NewResourceSettingData=[sasd.tocimxmlstr()])
    assert int(code) == 4096, code
    return out["Job"]


def test_storage_migrations_beyond_the_maximum_wait_their_turn(host: Host):
    service = migration_service(host.conn)
    settings = host.conn.EnumerateInstances("Msvm_VirtualSystemMigrationServiceSettingData")[0]
    settings["MaximumActiveStorageMigration"] = Uint32(1)
    assert host.conn.InvokeMethod("ModifyServiceSettings", service, ServiceSettingData=settings.tocimxmlstr())[0] == 0
    moving = [(*vm_on_big_disk(host, name), name) for name in ("queued-1", "queued-2")]  # both ready before either moves
    jobs = [start_storage_move(host, vm, image, host.root / "moved" / name / image.name) for vm, image, name in moving]

    one_waited = False
    deadline = time.monotonic() + 300
    while True:
        found = [host.conn.GetInstance(job, PropertyList=["JobState", "PercentComplete"]) for job in jobs]
        running = [j for j in found if j["JobState"] == 4 and j["PercentComplete"] > 0]
        assert len(running) <= 1, "two storage migrations ran at once past a maximum of one"
        assert host.conn.GetInstance(service)["ActiveStorageMigrationCount"] <= 1
        if running and any(j["JobState"] == 4 and j["PercentComplete"] == 0 for j in found):
            one_waited = True
        if all(j["JobState"] in (7, 10) for j in found):
            break
        assert time.monotonic() < deadline, "the storage migrations did not end"
        time.sleep(0.02)
    assert [j["JobState"] for j in found] == [7, 7]
    assert one_waited, "no storage migration waited for the other"
    for vm, image, name in moving:
        assert disk_paths(host.conn, vm) == [str(host.root / "moved" / name / image.name)] and not image.exists()
    settings["MaximumActiveStorageMigration"] = Uint32(2)
    assert host.conn.InvokeMethod("ModifyServiceSettings", service, ServiceSettingData=settings.tocimxmlstr())[0] == 0


@pytest.mark.parametrize("setting", ["RetainVhdCopiesOnSource", "AvoidRemovingVHDs"])
def test_a_storage_migration_asked_to_keep_the_old_files_keeps_them(host: Host, setting: str):
    vm, image = vm_on_big_disk(host, f"kept-{setting}")
    before = image.read_bytes()
    target = host.root / "kept-moved" / setting / image.name
    job = wait_job(host.conn, start_storage_move(host, vm, image, target, **{setting: True}), 120)
    assert job["JobState"] == 7, job["ErrorDescription"]
    assert disk_paths(host.conn, vm) == [str(target)]
    assert image.read_bytes() == before and target.read_bytes() == before
