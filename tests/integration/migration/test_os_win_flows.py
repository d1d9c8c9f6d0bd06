"""os-win's LiveMigrationUtils flows against two servers, with os-win's
own queries: check_live_migration_config on each host, then
live_migrate_vm with its disks (32771, the destination's listener
addresses in DestinationIPAddressList, each VHD's SASD with its new path)
and without new paths (32768)."""

from __future__ import annotations

import pytest

from tests.integration.migration.two_hosts import exists, source_and_destination, vm_with_new_disk
from tests.integration.model.hyperv import NS, request_state, state, wait_job
from tests.integration.storage.vm_client import disk_paths


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory):
    with source_and_destination(tmp_path_factory.mktemp("os-win")) as hosts:
        yield hosts


def check_live_migration_config(conn) -> None:
    """os-win: migration enabled, and the service listens somewhere."""
    settings = conn.ExecQuery("WQL", "SELECT * FROM Msvm_VirtualSystemMigrationServiceSettingData", NS)[0]
    assert settings["EnableVirtualSystemMigration"], "Live migration is not enabled on this host"
    service = conn.ExecQuery("WQL", "SELECT * FROM Msvm_VirtualSystemMigrationService", NS)[0]
    assert service["MigrationServiceListenerIPAddressList"], "Live migration networks are not configured on this host"


def live_migrate_vm(local, remote, vm_name: str, dest_host: str, new_paths: dict[str, str] | None):
    vm = local.ExecQuery("WQL", f"SELECT * FROM Msvm_ComputerSystem WHERE ElementName = '{vm_name}'", NS)[0]
    remote_ips = remote.ExecQuery("WQL", "SELECT * FROM Msvm_VirtualSystemMigrationService", NS)[0]["MigrationServiceListenerIPAddressList"]
    migration_type = 32771 if new_paths is not None else 32768
    vsmsd = local.ExecQuery("WQL", f"SELECT * FROM Msvm_VirtualSystemMigrationSettingData WHERE MigrationType = {migration_type}", NS)[0]
    vsmsd["DestinationIPAddressList"] = remote_ips
    resources = []
    if new_paths is not None:
        sasds = local.ExecQuery("WQL", "SELECT * FROM Msvm_StorageAllocationSettingData WHERE ResourceType = 31 "
                                       "AND ResourceSubType = 'Microsoft:Hyper-V:Virtual Hard Disk'", NS)
        for sasd in sasds:
            if sasd["HostResource"] and sasd["HostResource"][0] in new_paths:  # templates have none
                sasd["HostResource"] = [new_paths[sasd["HostResource"][0]]]
                resources.append(sasd.tocimxmlstr())
    service = local.EnumerateInstanceNames("Msvm_VirtualSystemMigrationService")[0]
    code, out = local.InvokeMethod("MigrateVirtualSystemToHost", service, ComputerSystem=vm.path, DestinationHost=dest_host,
                                   MigrationSettingData=vsmsd.tocimxmlstr(), NewResourceSettingData=resources)
    assert int(code) == 4096
    return vm.path, wait_job(local, out["Job"], timeout=60)


def test_check_live_migration_config_passes_on_both_hosts(hosts):
    for host in hosts:
        check_live_migration_config(host.conn)


def test_live_migrate_vm_with_disks(hosts):
    a, b = hosts
    vm, image = vm_with_new_disk(a, "oswin", "oswin-vm")
    assert request_state(a.conn, vm, 2)[0] == 4096
    target = str(b.root / "oswin" / "oswin.vhd")
    path, job = live_migrate_vm(a.conn, b.conn, "oswin-vm", "hostb", {str(image): target})
    assert job["JobState"] == 7, job["ErrorDescription"]
    assert not exists(a.conn, path) and state(b.conn, path) == 2
    assert disk_paths(b.conn, path) == [target]


def test_live_migrate_vm_without_disk_paths_needs_them_inside_the_destination_roots(hosts):
    a, b = hosts
    vm_with_new_disk(a, "shared", "shared-vm")
    path, job = live_migrate_vm(a.conn, b.conn, "shared-vm", "hostb", None)
    assert job["JobState"] == 10 and "storage roots" in job["ErrorDescription"]
    assert exists(a.conn, path) and not exists(b.conn, path)
