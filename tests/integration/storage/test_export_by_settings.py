"""ExportSystemDefinition takes the VM's settings (Msvm_VirtualSystemSettingData)
as its ComputerSystem, as os-win passes them, as well as the VM itself."""

from __future__ import annotations

from pathlib import Path

from tests.integration.model.hyperv import check, service, wait_job
from tests.integration.storage.transfer_client import definition_file, export_settings
from tests.integration.storage.vhd_client import MIB, create
from tests.integration.storage.vm_client import vm_with_disk


def test_export_names_the_vm_by_its_settings(conn, root: Path) -> None:
    create(conn, root / "s.vhd", "dynamic", size=4 * MIB)
    vm = vm_with_disk(conn, "bysettings", root / "s.vhd")
    vssd = conn.AssociatorNames(vm, AssocClass="Msvm_SettingsDefineState", ResultClass="Msvm_VirtualSystemSettingData")[0]
    check(conn, conn.InvokeMethod("ExportSystemDefinition", service(conn), ComputerSystem=vssd, ExportDirectory=str(root / "out"),
                                  ExportSettingData=export_settings(conn, vm, CopySnapshotConfiguration=1)))
    assert definition_file(root / "out" / "bysettings").is_file()
    assert (root / "out" / "bysettings" / "Virtual Hard Disks" / "s.vhd").is_file()


def test_settings_of_no_vm_are_not_found(conn, root: Path) -> None:
    vssd = conn.AssociatorNames(vm_with_disk(conn, "gone", _disk(conn, root)), AssocClass="Msvm_SettingsDefineState",
                                ResultClass="Msvm_VirtualSystemSettingData")[0]
    vssd.keybindings["InstanceID"] = "Microsoft:00000000-0000-4000-8000-000000000000"
    code, out = conn.InvokeMethod("ExportSystemDefinition", service(conn), ComputerSystem=vssd, ExportDirectory=str(root / "out"))
    failure = wait_job(conn, out["Job"]) if int(code) == 4096 else None
    assert int(code) == 32779 or (failure is not None and failure["ErrorCode"] == 32779)


def _disk(conn, root: Path) -> Path:
    create(conn, root / "g.vhd", "dynamic", size=4 * MIB)
    return root / "g.vhd"
