"""Export, import and clone calls as a client makes them, and what the
tests read back."""

from __future__ import annotations

from pathlib import Path

import pywbem
from pywbem import CIMInstance, CIMInstanceName, Uint8

from tests.integration.model.hyperv import check, service, wait_job

EXPORT_SD = "Msvm_VirtualSystemExportSettingData"


def export_settings(conn: pywbem.WBEMConnection, vm: CIMInstanceName, **values: object) -> str:
    """The VM's own export settings (through Msvm_SystemExportSettingData), changed."""
    found = conn.Associators(vm, AssocClass="Msvm_SystemExportSettingData", ResultClass=EXPORT_SD)
    assert len(found) == 1
    settings = found[0]
    for name, value in values.items():
        settings[name] = Uint8(value) if name == "CopySnapshotConfiguration" else value
    return settings.tocimxmlstr()


def export(conn: pywbem.WBEMConnection, vm: CIMInstanceName, directory: Path, **values: object) -> None:
    check(conn, conn.InvokeMethod("ExportSystemDefinition", service(conn), ComputerSystem=vm,
                                  ExportDirectory=str(directory), ExportSettingData=export_settings(conn, vm, **values)))


def import_planned(conn: pywbem.WBEMConnection, definition: Path, new_id: bool = True) -> CIMInstanceName:
    out = check(conn, conn.InvokeMethod("ImportSystemDefinition", service(conn), SystemDefinitionFile=str(definition),
                                        SnapshotFolder=None, GenerateNewSystemIdentifier=new_id))
    planned = out["ImportedSystem"]
    planned.namespace = conn.default_namespace
    return planned


def realize(conn: pywbem.WBEMConnection, planned: CIMInstanceName) -> CIMInstanceName:
    check(conn, conn.InvokeMethod("ValidatePlannedSystem", service(conn), PlannedSystem=planned))
    out = check(conn, conn.InvokeMethod("RealizePlannedSystem", service(conn), PlannedSystem=planned))
    vm = out["ResultingSystem"]
    vm.namespace = conn.default_namespace
    return vm


def refused(conn: pywbem.WBEMConnection, method: str, **params: object) -> tuple[int, str]:
    """The method must fail (a failed job, or a return code): (code, message)."""
    code, out = conn.InvokeMethod(method, service(conn), **params)
    if int(code) != 4096:
        assert int(code) != 0
        return int(code), ""
    job = wait_job(conn, out["Job"])
    assert job["JobState"] == 10, (job["JobState"], job["ErrorDescription"])
    return int(job["ErrorCode"]), job["ErrorDescription"]


def definition_file(folder: Path) -> Path:
    files = list((folder / "Virtual Machines").glob("*.json"))
    assert len(files) == 1, files
    return files[0]


def clone(conn: pywbem.WBEMConnection, vm: CIMInstanceName, name: str) -> CIMInstanceName:
    vssd = conn.Associators(vm, AssocClass="Msvm_SettingsDefineState", ResultClass="Msvm_VirtualSystemSettingData")[0]
    settings = CIMInstance("Msvm_VirtualSystemSettingData", properties={"ElementName": name})
    out = check(conn, conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=settings.tocimxmlstr(),
                                        ResourceSettings=[], ReferenceConfiguration=vssd.path))
    made = out["ResultingSystem"]
    made.namespace = conn.default_namespace
    return made
