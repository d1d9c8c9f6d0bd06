"""What os-win's create_vm sends is kept, on both backends: every
*DataRoot set to the instance's folder (inside the storage roots), Notes
as an array of entries; a data root outside the storage roots is refused
naming the property, and no VM is left behind."""

from __future__ import annotations

import pytest
from pywbem import CIMInstance, Uint16

from tests.integration.model.backends import BACKENDS
from tests.integration.model.hyperv import NS, check, service, wait_job
from tests.support.live import in_process_server

VSSD = "Msvm_VirtualSystemSettingData"
ROOTS = ("ConfigurationDataRoot", "LogDataRoot", "SnapshotDataRoot", "SuspendDataRoot", "SwapFileDataRoot")


@pytest.fixture(params=sorted(BACKENDS), scope="module")
def served(request, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(request.param)
    with in_process_server(data_dir, **BACKENDS[request.param]) as live:
        yield live.connection(NS), data_dir / "storage"


def create_vm(conn, name: str, instance_path: str, notes: list[str] | None = None) -> tuple[int, dict]:
    """os-win's vmutils.create_vm, property for property."""
    vssd = CIMInstance(VSSD, properties={"ElementName": name, "AutomaticStartupAction": Uint16(2), "VirtualNumaEnabled": True})
    if notes:
        vssd["Notes"] = notes
    for prop in ROOTS:
        vssd[prop] = instance_path
    code, out = conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd.tocimxmlstr(), ResourceSettings=[],
                                  ReferenceConfiguration=None)
    return int(code), out


def vssd_of(conn, vm):
    return conn.Associators(vm, AssocClass="Msvm_SettingsDefineState", ResultClass=VSSD)[0]


def test_create_vm_keeps_data_roots_and_notes(served):
    conn, storage = served
    folder = storage / "instance-0001"
    folder.mkdir(parents=True)
    code, out = create_vm(conn, "instance-0001", str(folder), ["f3a1c0de-0000-4000-8000-000000000001", "second line"])
    assert code == 0, wait_job(conn, out["Job"])["ErrorDescription"]
    vssd = vssd_of(conn, out["ResultingSystem"])
    assert {prop: vssd[prop] for prop in ROOTS} == {prop: str(folder) for prop in ROOTS}
    assert vssd["Notes"] == ["f3a1c0de-0000-4000-8000-000000000001", "second line"]

    elsewhere = storage / "moved"
    elsewhere.mkdir()
    vssd["SnapshotDataRoot"] = str(elsewhere)
    vssd["Notes"] = ["one entry\nof two lines"]
    check(conn, conn.InvokeMethod("ModifySystemSettings", service(conn), SystemSettings=vssd.tocimxmlstr()))
    changed = vssd_of(conn, out["ResultingSystem"])
    assert changed["SnapshotDataRoot"] == str(elsewhere) and changed["ConfigurationDataRoot"] == str(folder)
    assert changed["Notes"] == ["one entry\nof two lines"]


@pytest.mark.parametrize("outside", ["/etc", "relative/folder", "{storage}/../escaped"])
def test_a_data_root_outside_the_storage_roots_is_refused(served, outside):
    conn, storage = served
    path = outside.format(storage=storage)
    code, out = create_vm(conn, "outside", path)
    assert code == 4096
    job = wait_job(conn, out["Job"])
    assert job["ErrorCode"] == 32773 and "DataRoot" in job["ErrorDescription"] and path in job["ErrorDescription"]
    assert "outside" not in {vm["ElementName"] for vm in conn.EnumerateInstances("Msvm_ComputerSystem")}


def test_an_unhonoured_setting_fails_the_call_and_changes_nothing(served):
    conn, storage = served
    code, out = create_vm(conn, "asset", str(storage))
    assert code == 0
    vssd = vssd_of(conn, out["ResultingSystem"])
    vssd["AllowFullSCSICommandSet"] = True
    vssd["AutomaticShutdownAction"] = Uint16(4)
    code, out2 = conn.InvokeMethod("ModifySystemSettings", service(conn), SystemSettings=vssd.tocimxmlstr())
    job = wait_job(conn, out2["Job"])
    assert int(code) == 4096 and job["ErrorCode"] == 32770 and "AllowFullSCSICommandSet" in job["ErrorDescription"]
    assert vssd_of(conn, out["ResultingSystem"])["AutomaticShutdownAction"] != 4  # all or nothing


@pytest.mark.parametrize("classname", ["Msvm_MemorySettingData", "Msvm_Bogus"])
def test_system_settings_of_another_class_are_refused_naming_it(served, classname):
    conn, _ = served
    wrong = CIMInstance(classname, properties={"ElementName": f"from-{classname}"})
    code, out = conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=wrong.tocimxmlstr(), ResourceSettings=[])
    failed = wait_job(conn, out["Job"]) if code == 4096 else {"ErrorCode": code, "ErrorDescription": out.get("ErrorDescription", "")}
    assert failed["ErrorCode"] == 32773
    assert f"SystemSettings: an instance of {VSSD} is expected, not of {classname}" in failed["ErrorDescription"]
    assert f"from-{classname}" not in {vm["ElementName"] for vm in conn.EnumerateInstances("Msvm_ComputerSystem")}
