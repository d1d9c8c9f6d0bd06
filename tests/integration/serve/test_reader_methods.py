"""The reader role may call the methods that only read (as it may use every
intrinsic read), and still no method that changes the host; the command
line then shows a reader the same VM list an admin sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import pywbem
from pywbem import CIMError, CIMInstance, Uint16, Uint32

from tests.support.live import serve_process

NS = "root/virtualization/v2"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CIMPROVIDER_")}
    environment.update({"CIMPROVIDER_CLIENT_CONFIG": os.devnull, **(env or {})})
    return subprocess.run([sys.executable, "-m", "cimprovider.cli", *args], capture_output=True, text=True,
                          timeout=120, env=environment)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    directory = tmp_path_factory.mktemp("readers")
    users = directory / "users.json"
    for name, role in (("alice", "admin"), ("bob", "reader")):
        added = cli("user", "add", name, "--role", role, "--users-file", str(users),
                    env={"CIMPROVIDER_NEW_PASSWORD": f"{name}-pw"})
        assert added.returncode == 0, added.stderr
    with serve_process("--port", "0", "--data-dir", str(directory / "data"), "--users-file", str(users)) as live:
        admin = pywbem.WBEMConnection(live.url, ("alice", "alice-pw"), default_namespace=NS, timeout=60)
        made = cli("vm", "new", "shared", "--memory", "768", "--processors", "3", "-s", live.url,
                   "-u", "alice", "--password", "alice-pw")
        assert made.returncode == 0, made.stderr
        disk = directory / "data" / "storage" / "shared.vhdx"
        made = cli("vhd", "new", str(disk), "--size", "8M", "-s", live.url, "-u", "alice", "--password", "alice-pw")
        assert made.returncode == 0, made.stderr
        yield live, admin, disk


def reader(live) -> pywbem.WBEMConnection:
    return pywbem.WBEMConnection(live.url, ("bob", "bob-pw"), default_namespace=NS, timeout=60)


def test_reader_reads_summaries_and_disk_settings(served):
    live, _admin, disk = served
    conn = reader(live)
    service = conn.EnumerateInstanceNames("Msvm_VirtualSystemManagementService")[0]
    code, out = conn.InvokeMethod("GetSummaryInformation", service, RequestedInformation=[Uint32(1), Uint32(4)])
    assert code == 0
    assert [(s["ElementName"], s["NumberOfProcessors"]) for s in out["SummaryInformation"]] == [("shared", 3)]
    images = conn.EnumerateInstanceNames("Msvm_ImageManagementService")[0]
    code, out = conn.InvokeMethod("GetVirtualHardDiskSettingData", images, Path=str(disk))
    assert code in (0, 4096)
    if code == 4096:
        job = conn.GetInstance(out["Job"])
        assert conn.InvokeMethod("GetErrorEx", job.path)[0] == 0


def test_reader_still_may_not_change_anything(served):
    live, _admin, _disk = served
    conn = reader(live)
    vm = next(p for p in conn.EnumerateInstanceNames("Msvm_ComputerSystem") if len(p["Name"]) == 36)
    with pytest.raises(CIMError) as denied:
        conn.InvokeMethod("RequestStateChange", vm, RequestedState=Uint16(2))
    assert denied.value.status_code == pywbem.CIM_ERR_ACCESS_DENIED
    service = conn.EnumerateInstanceNames("Msvm_VirtualSystemManagementService")[0]
    settings = CIMInstance("Msvm_VirtualSystemSettingData", properties={"ElementName": "nope"})
    with pytest.raises(CIMError) as denied:
        conn.InvokeMethod("DefineSystem", service, SystemSettings=settings.tocimxmlstr())
    assert denied.value.status_code == pywbem.CIM_ERR_ACCESS_DENIED
    assert "bob" in denied.value.status_description and "DefineSystem" in denied.value.status_description


def test_vm_list_as_reader_shows_cpus_and_memory(served):
    live, _admin, _disk = served
    listed = cli("vm", "list", "-o", "json", "-s", live.url, "-u", "bob", "--password", "bob-pw")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["name"], row["cpus"], row["memory_mb"]) == ("shared", 3, 768)
    assert listed.stderr == ""
