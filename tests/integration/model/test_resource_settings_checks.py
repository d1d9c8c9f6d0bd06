"""Add/Modify/RemoveResourceSettings refuse what they would otherwise
carry out as something else, or not at all: a ResourceSubType this host
does not know (it was taken as whatever device its ResourceType named),
settings sent under another kind's class, and a call with no settings
(it answered 0 having done nothing). Each fails with 32773 naming what
was wrong, and the VM keeps its devices."""

from __future__ import annotations

import pytest
from pywbem import CIMInstance, Uint64

from tests.integration.model.backends import BACKENDS
from tests.integration.model.hyperv import NS, define_vm, service, settings_of, template, wait_job
from tests.support.live import in_process_server

RASD = "Msvm_ResourceAllocationSettingData"


@pytest.fixture(params=sorted(BACKENDS), scope="module")
def conn(request, tmp_path_factory):
    with in_process_server(tmp_path_factory.mktemp(request.param), **BACKENDS[request.param]) as live:
        yield live.connection(NS)


def failure(conn, answer: tuple) -> tuple[int, str]:
    code, out = answer
    if code == 4096:
        job = wait_job(conn, out["Job"])
        return job["ErrorCode"], job["ErrorDescription"]
    return code, ""


def devices(conn, vm) -> list[str]:
    return sorted(s["InstanceID"] for s in settings_of(conn, RASD, vm))


def test_an_unknown_resource_subtype_is_not_taken_as_another_device(conn):
    vm = define_vm(conn, "bogus-subtype")
    before = devices(conn, vm)
    scsi = template(conn, RASD, "Microsoft:Hyper-V:Synthetic SCSI Controller")
    scsi["ResourceSubType"] = "Microsoft:Hyper-V:Bogus"
    code, said = failure(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm,
                                                 ResourceSettings=[scsi.tocimxmlstr()]))
    assert code == 32773 and "'Microsoft:Hyper-V:Bogus' is not a resource this host can add" in said
    assert devices(conn, vm) == before


def test_settings_sent_under_another_kinds_class_are_refused(conn):
    vm = define_vm(conn, "wrong-class")
    processor = settings_of(conn, "Msvm_ProcessorSettingData", vm)[0]
    disguised = CIMInstance("Msvm_MemorySettingData", properties=dict(processor.properties))
    code, said = failure(conn, conn.InvokeMethod("ModifyResourceSettings", service(conn),
                                                 ResourceSettings=[disguised.tocimxmlstr()]))
    assert code == 32773
    assert "a processor's settings are an instance of Msvm_ProcessorSettingData, not of Msvm_MemorySettingData" in said


@pytest.mark.parametrize("method", ["AddResourceSettings", "ModifyResourceSettings", "RemoveResourceSettings"])
def test_a_call_with_no_resource_settings_is_refused(conn, method):
    vm = define_vm(conn, f"no-settings-{method}")
    params = {"AffectedConfiguration": vm} if method == "AddResourceSettings" else {}
    code, said = failure(conn, conn.InvokeMethod(method, service(conn), ResourceSettings=[], **params))
    assert code == 32773 and "ResourceSettings: is required: give at least one" in said


def test_define_system_takes_memory_and_processor_settings(conn):
    """Hyper-V applies the memory and processor settings DefineSystem is
    given (AddResourceSettings refuses them: a VM has one of each), and
    refuses one it cannot honour without leaving a VM behind."""
    memory = template(conn, "Msvm_MemorySettingData")
    memory["VirtualQuantity"] = Uint64(1536)
    processor = template(conn, "Msvm_ProcessorSettingData")
    processor["VirtualQuantity"] = Uint64(3)
    vssd = CIMInstance("Msvm_VirtualSystemSettingData", properties={"ElementName": "sized-at-birth"})
    code, out = conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd.tocimxmlstr(),
                                  ResourceSettings=[memory.tocimxmlstr(), processor.tocimxmlstr()])
    assert code == 0, failure(conn, (code, out))
    vm = out["ResultingSystem"]
    assert [m["VirtualQuantity"] for m in settings_of(conn, "Msvm_MemorySettingData", vm)] == [1536]
    assert [p["VirtualQuantity"] for p in settings_of(conn, "Msvm_ProcessorSettingData", vm)] == [3]

    memory["VirtualQuantity"] = Uint64(1535)  # not a multiple of the 2 MB increment
    vssd["ElementName"] = "never-defined"
    code, out = conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd.tocimxmlstr(),
                                  ResourceSettings=[memory.tocimxmlstr()])
    assert failure(conn, (code, out))[0] == 32773
    assert not [v for v in conn.EnumerateInstances("Msvm_ComputerSystem") if v["ElementName"] == "never-defined"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"Limit": 150000}, "Limit: 150000 is not between 0 and 100000 (thousandths of a percent)"),
    ({"Reservation": 60000, "Limit": 50000}, "Reservation: 60000 exceeds Limit 50000 (thousandths of a percent)"),
])
def test_processor_limits_are_refused_in_the_clients_unit(conn, changes, message):
    """Reservation and Limit are thousandths of a percent on the wire; a
    refusal speaks of them so, and the processor keeps its settings."""
    vm = define_vm(conn, f"cpu-{len(changes)}")
    (cpu,) = settings_of(conn, "Msvm_ProcessorSettingData", vm)
    for name, value in changes.items():
        cpu[name] = Uint64(value)
    answer = conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[cpu.tocimxmlstr()])
    assert failure(conn, answer) == (32773, message)
    (now,) = settings_of(conn, "Msvm_ProcessorSettingData", vm)
    assert (now["Reservation"], now["Limit"]) == (0, 100000)
