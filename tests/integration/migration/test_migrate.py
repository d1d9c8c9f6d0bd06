"""MigrateVirtualSystemToHost between two real servers: off, saved and
running VMs with their disks and snapshots arrive in the state they left
(a running VM is never seen off or saved on the destination), the disks
land where NewResourceSettingData puts them or at their own paths, and
the source forgets the VM only once the destination has it."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest
from pywbem import Uint32

from tests.integration.migration.two_hosts import (
    exists,
    migrate,
    migration_service,
    migration_setting,
    source_and_destination,
    vm_with_new_disk,
    wait_until,
)
from tests.integration.model.hyperv import request_state, settings_of, state, wait_job
from tests.integration.storage.snapshots_client import guest_writes, take
from tests.integration.storage.test_kill_during_job import big_source
from tests.integration.storage.vhd_client import settings
from tests.integration.storage.vm_client import disk_paths, vm_with_disk


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory):
    with source_and_destination(tmp_path_factory.mktemp("two-hosts")) as hosts:
        yield hosts


def digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def disk_sasd(conn, vm):
    return next(d for d in settings_of(conn, "Msvm_StorageAllocationSettingData", vm)
                if d["ResourceSubType"] == "Microsoft:Hyper-V:Virtual Hard Disk")


def test_an_off_vm_moves_with_its_disk_to_where_new_resource_settings_say(hosts):
    a, b = hosts
    vm, image = vm_with_new_disk(a, "off", "off-vm")
    before = digest(str(image))
    sasd = disk_sasd(a.conn, vm)
    target = b.root / "moved" / "off.vhd"
    sasd["HostResource"] = [str(target)]
    job = migrate(a.conn, vm, "hostb", resources=[sasd])
    assert job["JobState"] == 7, job["ErrorDescription"]
    assert job["PercentComplete"] == 100
    assert job.classname == "Msvm_MigrationJob" and job["MigrationType"] == 32771
    assert not exists(a.conn, vm)
    assert not image.exists(), "the source kept its copy of a moved disk"
    assert state(b.conn, vm) == 3
    assert disk_paths(b.conn, vm) == [str(target)]
    assert digest(str(target)) == before


def test_a_disk_without_new_settings_keeps_its_path_and_is_refused_outside_the_destination_roots(hosts):
    a, b = hosts
    vm, image = vm_with_new_disk(a, "keep", "keep-vm")
    job = migrate(a.conn, vm, "hostb")
    assert job["JobState"] == 10
    assert str(image) in job["ErrorDescription"] and "storage roots" in job["ErrorDescription"]
    assert exists(a.conn, vm) and image.exists() and state(a.conn, vm) == 3
    assert not exists(b.conn, vm)


def test_a_saved_vm_with_snapshots_arrives_saved_with_its_tree(hosts):
    a, b = hosts
    vm, image = vm_with_new_disk(a, "saved", "saved-vm")
    take(a.conn, vm)
    guest_writes(a.conn, vm, 1, 7)
    take(a.conn, vm)
    assert request_state(a.conn, vm, 2)[0] == 4096
    assert request_state(a.conn, vm, 6)[0] == 4096
    assert state(a.conn, vm) == 6
    leaf = disk_paths(a.conn, vm)[0]
    sasd = disk_sasd(a.conn, vm)
    sasd["HostResource"] = [str(b.root / "saved" / Path(leaf).name)]
    job = migrate(a.conn, vm, "hostb", resources=[sasd])
    assert job["JobState"] == 7, job["ErrorDescription"]
    assert state(b.conn, vm) == 6
    snapshots = b.conn.Associators(vm, AssocClass="Msvm_SnapshotOfVirtualSystem")
    assert len(snapshots) == 2
    moved_leaf = disk_paths(b.conn, vm)[0]
    assert Path(moved_leaf).parent == b.root / "saved"
    # every disk of the chain came along, beside the VM's disk, and reads through its new parents
    assert len(list((b.root / "saved").iterdir())) == 3
    assert not any((a.root / "saved").iterdir())
    parent = settings(b.conn, Path(moved_leaf))["ParentPath"]
    assert Path(parent).parent == b.root / "saved"
    assert request_state(b.conn, vm, 2)[0] == 4096 and state(b.conn, vm) == 2


def test_a_running_vm_keeps_running_and_the_destination_never_shows_it_otherwise(hosts):
    a, b = hosts
    vm, image = vm_with_new_disk(a, "live", "live-vm")
    assert request_state(a.conn, vm, 2)[0] == 4096
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        conn = b.conn
        while not stop.is_set():
            if exists(conn, vm):
                seen.append(state(conn, vm))

    watcher = threading.Thread(target=watch)
    watcher.start()
    sasd = disk_sasd(a.conn, vm)
    sasd["HostResource"] = [str(b.root / "live" / "live.vhd")]
    try:
        job = migrate(a.conn, vm, "hostb", resources=[sasd])
        wait_until(lambda: seen, "the watcher to see the VM on the destination")
    finally:
        stop.set()
        watcher.join()
    assert job["JobState"] == 7, job["ErrorDescription"]
    assert state(b.conn, vm) == 2
    assert not exists(a.conn, vm)
    assert set(seen) == {2}, seen


def test_migrations_beyond_the_maximum_wait_their_turn(hosts):
    a, b = hosts
    service = migration_service(a.conn)
    settings = a.conn.EnumerateInstances("Msvm_VirtualSystemMigrationServiceSettingData")[0]
    settings["MaximumActiveVirtualSystemMigration"] = Uint32(1)
    assert a.conn.InvokeMethod("ModifyServiceSettings", service, ServiceSettingData=settings.tocimxmlstr())[0] == 0
    vms = []
    for name in ("queue-1", "queue-2"):  # both ready before either moves
        image = a.root / name / f"{name}.vhd"
        image.parent.mkdir()
        big_source(image)
        vm = vm_with_disk(a.conn, name, image)
        sasd = disk_sasd(a.conn, vm)
        sasd["HostResource"] = [str(b.root / name / f"{name}.vhd")]
        vms.append((vm, sasd))
    jobs = []
    for vm, sasd in vms:
        code, out = a.conn.InvokeMethod("MigrateVirtualSystemToHost", service, ComputerSystem=vm, DestinationHost="hostb",
                                        MigrationSettingData=migration_setting(a.conn).tocimxmlstr(),
                                        NewResourceSettingData=[sasd.tocimxmlstr()])
        assert int(code) == 4096
        jobs.append(out["Job"])
    one_waited = False
    while True:
        found = [a.conn.GetInstance(job, PropertyList=["JobState", "PercentComplete"]) for job in jobs]
        moving = [j for j in found if j["JobState"] == 4 and j["PercentComplete"] > 0]
        assert len(moving) <= 1, "two migrations ran at once past a maximum of one"
        assert a.conn.GetInstance(service)["ActiveVirtualSystemMigrationCount"] <= 1
        if any(j["JobState"] == 4 and j["PercentComplete"] == 0 for j in found) and moving:
            one_waited = True
        if all(j["JobState"] in (7, 10) for j in found):
            break
        time.sleep(0.02)
    assert [j["JobState"] for j in found] == [7, 7]
    assert one_waited
    settings["MaximumActiveVirtualSystemMigration"] = Uint32(2)
    assert a.conn.InvokeMethod("ModifyServiceSettings", service, ServiceSettingData=settings.tocimxmlstr())[0] == 0


def test_a_migrating_vm_refuses_changes_until_it_has_moved(hosts):
    a, b = hosts
    image = a.root / "held" / "held.vhd"
    image.parent.mkdir()
    big_source(image)
    vm = vm_with_disk(a.conn, "held-vm", image)
    assert request_state(a.conn, vm, 2)[0] == 4096
    sasd = disk_sasd(a.conn, vm)
    sasd["HostResource"] = [str(b.root / "held" / "held.vhd")]
    code, out = a.conn.InvokeMethod("MigrateVirtualSystemToHost", migration_service(a.conn), ComputerSystem=vm,
                                    DestinationHost="hostb", MigrationSettingData=migration_setting(a.conn).tocimxmlstr(),
                                    NewResourceSettingData=[sasd.tocimxmlstr()])
    assert int(code) == 4096
    wait_until(lambda: any(p.stat().st_size > 0 for p in (b.root / "held").glob("*.migrating")), "uploading")
    code, refused = request_state(a.conn, vm, 3)  # Hyper-V: invalid state while migrating, and why
    assert code == 4096 and refused is not None and refused["ErrorCode"] == 32775
    assert "migrating to hostb" in refused["ErrorDescription"], refused["ErrorDescription"]
    job = wait_job(a.conn, out["Job"], 60)
    assert job["JobState"] == 7, job["ErrorDescription"]
    assert state(b.conn, vm) == 2


def set_migration_enabled(conn, enabled: bool) -> None:
    settings = conn.EnumerateInstances("Msvm_VirtualSystemMigrationServiceSettingData")[0]
    settings["EnableVirtualSystemMigration"] = enabled
    assert conn.InvokeMethod("ModifyServiceSettings", migration_service(conn), ServiceSettingData=settings.tocimxmlstr())[0] == 0


@pytest.mark.parametrize("disabled_on", ["source", "destination"])
def test_a_host_with_migration_disabled_moves_nothing(hosts, disabled_on):
    """EnableVirtualSystemMigration false, on either end: the move fails
    saying so, and the VM stays where it was, as it was."""
    a, b = hosts
    vm, _ = vm_with_new_disk(a, f"stay-{disabled_on}", f"stay-{disabled_on}-vm")
    assert request_state(a.conn, vm, 2)[0] == 4096
    sasd = disk_sasd(a.conn, vm)
    sasd["HostResource"] = [str(b.root / f"stay-{disabled_on}" / f"stay-{disabled_on}.vhd")]
    host = a if disabled_on == "source" else b
    set_migration_enabled(host.conn, False)
    try:
        job = migrate(a.conn, vm, "hostb", resources=[sasd])
    finally:
        set_migration_enabled(host.conn, True)
    assert job["JobState"] == 10
    where = "this host" if disabled_on == "source" else "the destination host"
    assert f"migration is disabled on {where} (EnableVirtualSystemMigration is false)" in job["ErrorDescription"], job["ErrorDescription"]
    assert state(a.conn, vm) == 2 and not exists(b.conn, vm)
    assert not (b.root / f"stay-{disabled_on}").exists()
