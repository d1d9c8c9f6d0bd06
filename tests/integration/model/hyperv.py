"""A client's side of Hyper-V, written as os-win's vmutils and jobutils do
it, over pywbem: find the service and templates, call a method, wait for
its job."""

from __future__ import annotations

import time

import pywbem
from pywbem import CIMInstance, CIMInstanceName, Uint16

from tests.support.waiting import DEADLINE

NS = "root/virtualization/v2"
FINISHED = {7, 8, 9, 10, 32768}


def service(conn: pywbem.WBEMConnection) -> CIMInstanceName:
    return conn.EnumerateInstanceNames("Msvm_VirtualSystemManagementService")[0]


def wait_job(conn: pywbem.WBEMConnection, job: CIMInstanceName, timeout: float = DEADLINE) -> CIMInstance:
    deadline = time.monotonic() + timeout
    while True:
        instance = conn.GetInstance(job)
        if instance["JobState"] in FINISHED:
            return instance
        assert time.monotonic() < deadline, f"job still {instance['JobState']}"
        time.sleep(0.02)


def check(conn: pywbem.WBEMConnection, answer: tuple) -> dict:
    """os-win's check_ret_val: 0 is done, 4096 waits for the job, which must
    end completed; anything else fails."""
    code, out = int(answer[0]), answer[1]
    if code == 4096:
        job = wait_job(conn, out["Job"])
        assert job["JobState"] == 7 and job["ErrorCode"] == 0, (job["ErrorCode"], job["ErrorDescription"])
    else:
        assert code == 0, code
    return out


def template(conn: pywbem.WBEMConnection, classname: str, subtype: str | None = None) -> CIMInstance:
    """`SELECT * FROM <cls> WHERE [ResourceSubType = st AND] InstanceID LIKE '%\\Default'`, by enumeration."""
    for instance in conn.EnumerateInstances(classname):
        if instance["InstanceID"].endswith("\\Default") and (subtype is None or instance["ResourceSubType"] == subtype):
            return instance
    raise AssertionError(f"no default {classname} {subtype}")


def settings_of(conn: pywbem.WBEMConnection, classname: str, vm: CIMInstanceName) -> list[CIMInstance]:
    """`SELECT * FROM <cls> WHERE InstanceID LIKE 'Microsoft:<GUID>%'`, by enumeration."""
    prefix = f"Microsoft:{vm['Name']}"
    return [i for i in conn.EnumerateInstances(classname) if i["InstanceID"].startswith(prefix)]


def define_vm(conn: pywbem.WBEMConnection, name: str, **settings: object) -> CIMInstanceName:
    vssd = CIMInstance("Msvm_VirtualSystemSettingData", properties={"ElementName": name, **settings})
    out = check(conn, conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd.tocimxmlstr(),
                                         ResourceSettings=[], ReferenceConfiguration=None))
    return out["ResultingSystem"]


def state(conn: pywbem.WBEMConnection, vm: CIMInstanceName) -> int:
    return int(conn.GetInstance(vm, PropertyList=["EnabledState"])["EnabledState"])


def request_state(conn: pywbem.WBEMConnection, vm: CIMInstanceName, requested: int) -> tuple[int, CIMInstance | None]:
    """RequestStateChange; (code, the finished job or None)."""
    code, out = conn.InvokeMethod("RequestStateChange", vm, RequestedState=Uint16(requested))
    job = wait_job(conn, out["Job"]) if int(code) == 4096 else None
    return int(code), job
