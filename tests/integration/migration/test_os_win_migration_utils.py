"""os-win's MigrationUtils flows (the cold move of compute-hyperv: export on
the source, the folder carried to the destination, import, realize) and
its planned-VM helpers, against two servers, with os-win's own queries and
calls: a VM is looked up by its realized VSSD, whose path os-win passes as
ComputerSystem; its export settings by that VSSD's InstanceID. Also
LiveMigrationUtils' staged branch (a planned VM on the destination), which
this host refuses naming the setting."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pywbem import Uint8

from tests.backends.images.readers import qemu_io
from tests.integration.migration.two_hosts import destination_host, exists, migration_service, source_host
from tests.integration.model.hyperv import NS, check, request_state, service, state, wait_job
from tests.integration.storage.vhd_client import create
from tests.integration.storage.vm_client import disk_paths, vm_with_disk

REALIZED = "Microsoft:Hyper-V:System:Realized"
EXPORT_CONFIG_SNAPSHOTS_ALL = 0


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("os-win-migrationutils")
    with destination_host(base) as b, source_host(base, b.live.url) as a:
        yield a, b


def lookup_vm(conn, vm_name: str):
    """vmutils._lookup_vm (as_vssd=True): the realized VSSD of that name."""
    found = conn.ExecQuery("WQL", "SELECT * FROM Msvm_VirtualSystemSettingData WHERE "
                                  f"ElementName = '{vm_name}' AND VirtualSystemType = '{REALIZED}'", NS)
    assert len(found) == 1, found
    return found[0]


def export_vm(conn, vm_name: str, export_path: str, copy_vm_storage: bool = False, create_export_subdir: bool = False) -> None:
    vm = lookup_vm(conn, vm_name)
    export_sd = conn.ExecQuery("WQL", "SELECT * FROM Msvm_VirtualSystemExportSettingData WHERE "
                                      f"InstanceID = '{vm['InstanceID']}'", NS)[0]
    export_sd["CopySnapshotConfiguration"] = Uint8(EXPORT_CONFIG_SNAPSHOTS_ALL)
    export_sd["CopyVmStorage"] = copy_vm_storage
    export_sd["CreateVmExportSubdirectory"] = create_export_subdir
    check(conn, conn.InvokeMethod("ExportSystemDefinition", service(conn), ComputerSystem=vm.path,
                                  ExportDirectory=export_path, ExportSettingData=export_sd.tocimxmlstr()))


def import_vm_definition(conn, export_config_file_path: str, snapshot_folder_path: str | None, new_uuid: bool = False) -> None:
    check(conn, conn.InvokeMethod("ImportSystemDefinition", service(conn), GenerateNewSystemIdentifier=new_uuid,
                                  SnapshotFolder=snapshot_folder_path, SystemDefinitionFile=export_config_file_path))


def get_planned_vm(conn, vm_name: str):
    found = conn.ExecQuery("WQL", f"SELECT * FROM Msvm_PlannedComputerSystem WHERE ElementName = '{vm_name}'", NS)
    return found[0] if found else None


def realize_vm(conn, vm_name: str) -> None:
    planned = get_planned_vm(conn, vm_name)
    assert planned is not None, f"Cannot find planned VM with name: {vm_name}"
    check(conn, conn.InvokeMethod("ValidatePlannedSystem", service(conn), PlannedSystem=planned.path))
    check(conn, conn.InvokeMethod("RealizePlannedSystem", service(conn), PlannedSystem=planned.path))


def destroy_existing_planned_vm(conn, vm_name: str) -> None:
    planned = get_planned_vm(conn, vm_name)
    if planned is not None:
        check(conn, conn.InvokeMethod("DestroySystem", service(conn), AffectedSystem=planned.path))


def test_export_carry_import_and_realize_moves_a_vm_between_hosts(hosts):
    a, b = hosts
    image = a.root / "cold" / "cold.vhd"
    image.parent.mkdir()
    create(a.conn, image)
    qemu_io(image, "vpc", "write -P 0x5a 0 1M")
    vm = vm_with_disk(a.conn, "cold-vm", image)
    exports = a.root / "exports"
    export_vm(a.conn, "cold-vm", str(exports), copy_vm_storage=True, create_export_subdir=True)
    folder = exports / "cold-vm"
    assert (folder / "Virtual Hard Disks" / "cold.vhd").is_file()
    # os-win leaves the carrying to its caller (compute-hyperv copies the
    # folder over SMB); here it lands inside the destination's storage.
    carried = b.root / "imports" / "cold-vm"
    shutil.copytree(folder, carried)
    definition = next((carried / "Virtual Machines").glob("*.json"))
    import_vm_definition(b.conn, str(definition), str(carried / "Snapshots"), new_uuid=False)
    assert get_planned_vm(b.conn, "cold-vm")["Name"] == vm["Name"]  # the same VM, same ID
    realize_vm(b.conn, "cold-vm")
    assert get_planned_vm(b.conn, "cold-vm") is None
    assert lookup_vm(b.conn, "cold-vm")["VirtualSystemIdentifier"].upper() == vm["Name"].upper()
    moved = Path(disk_paths(b.conn, vm)[0])
    assert moved.is_relative_to(b.root)
    qemu_io(moved, "vpc", "read -P 0x5a 0 1M", "read -P 0 1M 1M")
    assert request_state(b.conn, vm, 2)[0] == 4096 and state(b.conn, vm) == 2
    # The source's VM is the caller's to drop once the copy runs.
    check(a.conn, a.conn.InvokeMethod("DestroySystem", service(a.conn), AffectedSystem=vm))
    assert not exists(a.conn, vm) and exists(b.conn, vm)


def test_an_existing_planned_vm_is_destroyed_before_a_new_one(hosts):
    a, b = hosts
    image = a.root / "again" / "again.vhd"
    image.parent.mkdir()
    create(a.conn, image)
    vm_with_disk(a.conn, "again-vm", image)
    exports = a.root / "exports-again"
    export_vm(a.conn, "again-vm", str(exports), copy_vm_storage=True, create_export_subdir=True)
    carried = b.root / "imports" / "again-vm"
    shutil.copytree(exports / "again-vm", carried)
    definition = next((carried / "Virtual Machines").glob("*.json"))
    import_vm_definition(b.conn, str(definition), str(carried / "Snapshots"))
    assert get_planned_vm(b.conn, "again-vm") is not None
    destroy_existing_planned_vm(b.conn, "again-vm")
    assert get_planned_vm(b.conn, "again-vm") is None
    destroy_existing_planned_vm(b.conn, "again-vm")  # none left: nothing to do
    import_vm_definition(b.conn, str(definition), str(carried / "Snapshots"))
    assert get_planned_vm(b.conn, "again-vm") is not None


def test_live_migration_onto_a_planned_vm_is_refused_naming_the_setting(hosts):
    """LiveMigrationUtils finds a planned VM of that name on the destination
    and sets DestinationPlannedVirtualSystemId; create_planned_vm asks for a
    staged migration (32770). Neither is offered: the job says so and the
    VM stays on the source."""
    a, b = hosts
    image = a.root / "staged" / "staged.vhd"
    image.parent.mkdir()
    create(a.conn, image)
    vm = vm_with_disk(a.conn, "staged-vm", image)
    remote_ips = b.conn.ExecQuery("WQL", "SELECT * FROM Msvm_VirtualSystemMigrationService", NS)[0]["MigrationServiceListenerIPAddressList"]
    for migration_type, planned_id, named in ((32771, vm["Name"], "DestinationPlannedVirtualSystemId"), (32770, None, "MigrationType")):
        vsmsd = a.conn.ExecQuery("WQL", "SELECT * FROM Msvm_VirtualSystemMigrationSettingData "
                                        f"WHERE MigrationType = {migration_type}", NS)[0]
        vsmsd["DestinationIPAddressList"] = remote_ips
        if planned_id:
            vsmsd["DestinationPlannedVirtualSystemId"] = planned_id
        code, out = a.conn.InvokeMethod("MigrateVirtualSystemToHost", migration_service(a.conn), ComputerSystem=vm,
                                        DestinationHost="hostb", MigrationSettingData=vsmsd.tocimxmlstr())
        assert int(code) == 4096
        job = wait_job(a.conn, out["Job"])
        assert job["JobState"] == 10 and job["ErrorCode"] == 32770, job["ErrorDescription"]
        assert job["ErrorDescription"].startswith(f"{named}:"), job["ErrorDescription"]
        assert exists(a.conn, vm) and not exists(b.conn, vm)
