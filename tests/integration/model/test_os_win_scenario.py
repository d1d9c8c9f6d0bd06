"""A VM's life as os-win drives Hyper-V: define with no resources, size
memory and processors, add a SCSI controller, a drive and its disk image,
a NIC connected to the default switch, power it through every transition,
read its summary, exchange KVP items, shut it down through the guest and
destroy it. Steps run in order and share the VM."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest
from pywbem import CIMError, CIMInstance, Uint16

from tests.support.waiting import wait_until
from tests.integration.model.hyperv import (
    check,
    define_vm,
    request_state,
    service,
    settings_of,
    state,
    template,
    wait_job,
)

DEFAULT_SWITCH = "c08cb7b8-9b3c-408e-8e30-5e16a3aeb444"
vm_state: dict = {}


def vssd_path(conn, vm):
    return conn.AssociatorNames(vm, AssocClass="Msvm_SettingsDefineState", ResultClass="Msvm_VirtualSystemSettingData")[0]


def wmi_path(conn, path) -> str:
    """The __PATH text os-win embeds (raw backslashes, as it does)."""
    keys = ",".join(f'{k}="{v}"' for k, v in sorted(path.keybindings.items()))
    return f"\\\\host\\root\\virtualization\\v2:{path.classname}.{keys}"


def test_define_with_empty_resources(conn):
    vm = define_vm(conn, "os-win-vm", Notes=["made by the scenario"], AutomaticStartupAction=Uint16(2))
    vm_state["vm"] = vm
    instance = conn.GetInstance(vm)
    assert instance["ElementName"] == "os-win-vm" and instance["EnabledState"] == 3
    assert instance["Caption"] == "Virtual Machine"
    vssd = conn.GetInstance(vssd_path(conn, vm))
    assert vssd["ConfigurationID"] == vm["Name"] and vssd["VirtualSystemType"] == "Microsoft:Hyper-V:System:Realized"
    assert vssd["Notes"] == ["made by the scenario"] and vssd["AutomaticStartupAction"] == 2
    # Defaults: memory, processor and (generation 1) two IDE controllers.
    assert len(settings_of(conn, "Msvm_MemorySettingData", vm)) == 1
    assert len(settings_of(conn, "Msvm_ProcessorSettingData", vm)) == 1
    ide = [s for s in settings_of(conn, "Msvm_ResourceAllocationSettingData", vm) if s["ResourceType"] == 5]
    assert sorted(s["Address"] for s in ide) == ["0", "1"]


def test_modify_memory_and_processors(conn):
    vm = vm_state["vm"]
    memory = settings_of(conn, "Msvm_MemorySettingData", vm)[0]
    memory["DynamicMemoryEnabled"] = True
    memory["Limit"], memory["Reservation"], memory["VirtualQuantity"] = "4096", "2048", "2048"  # uint64 as strings
    check(conn, conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[memory.tocimxmlstr()]))
    cpu = settings_of(conn, "Msvm_ProcessorSettingData", vm)[0]
    cpu["VirtualQuantity"], cpu["Reservation"], cpu["Limit"] = "2", "2", "100000"
    cpu["LimitProcessorFeatures"] = True
    out = check(conn, conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[cpu.tocimxmlstr()]))
    assert out["ResultingResourceSettings"][0]["InstanceID"] == cpu["InstanceID"]
    memory = settings_of(conn, "Msvm_MemorySettingData", vm)[0]
    assert (memory["VirtualQuantity"], memory["Limit"], memory["DynamicMemoryEnabled"]) == (2048, 4096, True)
    cpu = settings_of(conn, "Msvm_ProcessorSettingData", vm)[0]
    assert (cpu["VirtualQuantity"], cpu["Limit"], cpu["LimitProcessorFeatures"]) == (2, 100000, True)


def test_modify_system_settings(conn):
    vssd = conn.GetInstance(vssd_path(conn, vm_state["vm"]))
    vssd["AutomaticShutdownAction"] = Uint16(4)
    vssd["VirtualNumaEnabled"] = False
    check(conn, conn.InvokeMethod("ModifySystemSettings", service(conn), SystemSettings=vssd.tocimxmlstr()))
    changed = conn.GetInstance(vssd.path)
    assert changed["AutomaticShutdownAction"] == 4 and changed["VirtualNumaEnabled"] is False


def test_bad_value_fails_in_a_job_with_get_error(conn):
    memory = settings_of(conn, "Msvm_MemorySettingData", vm_state["vm"])[0]
    memory["VirtualQuantity"] = "2047"
    code, out = conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[memory.tocimxmlstr()])
    assert code == 4096
    job = wait_job(conn, out["Job"])
    assert job["JobState"] == 10 and job["ErrorCode"] == 32773
    assert "VirtualQuantity" in job["ErrorDescription"]
    code, errors = conn.InvokeMethod("GetError", out["Job"])
    assert code == 0 and "VirtualQuantity" in errors["Error"]["Message"]
    code, errors = conn.InvokeMethod("GetErrorEx", out["Job"])
    assert code == 0 and len(errors["Errors"]) == 1
    owners = conn.AssociatorNames(out["Job"], AssocClass="Msvm_OwningJobElement")
    assert [o.classname for o in owners] == ["Msvm_VirtualSystemManagementService"]


def test_add_scsi_controller_drive_and_disk(conn):
    vm = vm_state["vm"]
    vssd = vssd_path(conn, vm)
    controller = template(conn, "Msvm_ResourceAllocationSettingData", "Microsoft:Hyper-V:Synthetic SCSI Controller")
    controller["VirtualSystemIdentifiers"] = ["{%s}" % uuid.uuid4()]
    out = check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vssd, ResourceSettings=[controller.tocimxmlstr()]))
    controller_path = out["ResultingResourceSettings"][0]
    drive = template(conn, "Msvm_ResourceAllocationSettingData", "Microsoft:Hyper-V:Synthetic Disk Drive")
    drive["Parent"] = wmi_path(conn, controller_path)
    drive["Address"] = drive["AddressOnParent"] = "0"
    out = check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[drive.tocimxmlstr()]))
    drive_path = out["ResultingResourceSettings"][0]
    assert drive_path["InstanceID"].endswith("\\0\\D")
    # os-win puts a new VM's disk in the host's default folder for them.
    (settings,) = conn.EnumerateInstances("Msvm_VirtualSystemManagementServiceSettingData")
    image = Path(settings["DefaultVirtualHardDiskPath"]) / "os-win-vm.vhdx"
    image.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "vhdx", str(image), "8M"], check=True)
    disk = template(conn, "Msvm_StorageAllocationSettingData", "Microsoft:Hyper-V:Virtual Hard Disk")
    disk["Parent"] = wmi_path(conn, drive_path)
    disk["HostResource"] = [str(image)]
    out = check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[disk.tocimxmlstr()]))
    assert conn.GetInstance(out["ResultingResourceSettings"][0])["HostResource"] == [str(image)]
    # os-win's free-slot query: drives whose Parent is the controller's path.
    drives = [d for d in conn.EnumerateInstances("Msvm_ResourceAllocationSettingData")
              if d["ResourceSubType"] == "Microsoft:Hyper-V:Synthetic Disk Drive" and controller_path["InstanceID"] in (d["Parent"] or "").replace("\\\\", "\\")]
    assert [d["AddressOnParent"] for d in drives] == ["0"]


def test_add_nic_connected_to_default_switch(conn):
    vm = vm_state["vm"]
    port_id = str(uuid.uuid4())
    nic = template(conn, "Msvm_SyntheticEthernetPortSettingData")
    nic["ElementName"] = port_id
    nic["VirtualSystemIdentifiers"] = ["{%s}" % port_id]
    nic["Address"], nic["StaticMacAddress"] = "00155D0A0B0C", True
    out = check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vssd_path(conn, vm), ResourceSettings=[nic.tocimxmlstr()]))
    nic_path = out["ResultingResourceSettings"][0]
    assert [p for p in conn.EnumerateInstances("Msvm_EthernetPortAllocationSettingData") if p["ElementName"] == port_id] == []
    switch = next(s for s in conn.EnumerateInstanceNames("Msvm_VirtualEthernetSwitch") if s["Name"] == DEFAULT_SWITCH)
    connection = template(conn, "Msvm_EthernetPortAllocationSettingData")
    connection["ElementName"] = port_id
    connection["HostResource"] = [wmi_path(conn, switch)]
    connection["Parent"] = wmi_path(conn, nic_path)
    check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[connection.tocimxmlstr()]))
    found = [p for p in conn.EnumerateInstances("Msvm_EthernetPortAllocationSettingData") if p["ElementName"] == port_id]
    assert len(found) == 1 and found[0]["EnabledState"] == 2 and DEFAULT_SWITCH in found[0]["HostResource"][0]
    # The sibling rule: RASD has controllers and drives, never memory, SASD or ports.
    kinds = {s["ResourceType"] for s in settings_of(conn, "Msvm_ResourceAllocationSettingData", vm)}
    assert kinds == {5, 6, 17}
    every = conn.Associators(vssd_path(conn, vm), AssocClass="Msvm_VirtualSystemSettingDataComponent")
    assert {i.classname for i in every} >= {"Msvm_MemorySettingData", "Msvm_ProcessorSettingData", "Msvm_StorageAllocationSettingData",
                                            "Msvm_SyntheticEthernetPortSettingData", "Msvm_EthernetPortAllocationSettingData"}


@pytest.mark.parametrize(
    ("request_code", "transitional", "end"),
    [(2, 10, 2), (9, 32776, 9), (2, 32777, 2), (6, 32773, 6), (2, 10, 2), (11, None, 2), (10, None, 2)],
)
def test_power_transitions(conn, request_code, transitional, end):
    code, job = request_state(conn, vm_state["vm"], request_code)
    assert code == 4096 and job["JobState"] == 7 and job["PercentComplete"] == 100
    assert state(conn, vm_state["vm"]) == end
    code, _ = request_state(conn, vm_state["vm"], end)
    assert code == 32775  # already there


def test_running_vm_has_devices_and_summary(conn):
    vm = vm_state["vm"]
    devices = {p.classname for p in conn.AssociatorNames(vm, AssocClass="Msvm_SystemDevice")}
    assert {"Msvm_Processor", "Msvm_Memory", "Msvm_DiskDrive", "Msvm_SyntheticEthernetPort", "Msvm_ShutdownComponent"} <= devices
    codes = [0, 1, 4, 100, 101, 103, 104, 105, 106, 109, 123, 132]
    code, out = conn.InvokeMethod("GetSummaryInformation", service(conn), SettingData=[vssd_path(conn, vm)],
                                  RequestedInformation=[pywbem_uint32(c) for c in codes])
    assert code == 0
    summary = out["SummaryInformation"][0]
    assert summary["Name"] == vm["Name"] and summary["ElementName"] == "os-win-vm"
    assert summary["NumberOfProcessors"] == 2 and summary["EnabledState"] == 2
    assert summary["Heartbeat"] == 2 and int(summary["UpTime"]) >= 0 and int(summary["MemoryUsage"]) > 0
    assert summary["GuestOperatingSystem"]


def pywbem_uint32(value):
    from pywbem import Uint32

    return Uint32(value)


def test_kvp_items(conn):
    vm = vm_state["vm"]
    item = CIMInstance("Msvm_KvpExchangeDataItem", properties={"Name": "role", "Data": "web", "Source": Uint16(0)})
    check(conn, conn.InvokeMethod("AddKvpItems", service(conn), TargetSystem=vm, DataItems=[item.tocimxmlstr()]))
    code, out = conn.InvokeMethod("AddKvpItems", service(conn), TargetSystem=vm, DataItems=[item.tocimxmlstr()])
    assert code == 4096 and wait_job(conn, out["Job"])["ErrorCode"] == 32773  # the key exists
    item["Data"] = "x" * 1025
    code, out = conn.InvokeMethod("ModifyKvpItems", service(conn), TargetSystem=vm, DataItems=[item.tocimxmlstr()])
    job = wait_job(conn, out["Job"])
    assert code == 4096 and job["ErrorCode"] == 32773 and "Data" in job["ErrorDescription"]
    item["Data"] = "db"
    check(conn, conn.InvokeMethod("ModifyKvpItems", service(conn), TargetSystem=vm, DataItems=[item.tocimxmlstr()]))
    check(conn, conn.InvokeMethod("RemoveKvpItems", service(conn), TargetSystem=vm, DataItems=[item.tocimxmlstr()]))
    kvp = conn.Associators(vm, AssocClass="Msvm_SystemDevice", ResultClass="Msvm_KvpExchangeComponent")[0]
    names = {}
    for text in kvp["GuestIntrinsicExchangeItems"]:
        text = text if isinstance(text, str) else text.tocimxmlstr()
        props = {p.get("NAME"): p.findtext("VALUE") for p in ElementTree.fromstring(text).findall("PROPERTY")}
        names[props["Name"]] = props["Data"]
    assert names["OSName"] and "FullyQualifiedDomainName" in names


def test_soft_shutdown_through_the_shutdown_component(conn):
    vm = vm_state["vm"]
    component = [c for c in conn.EnumerateInstanceNames("Msvm_ShutdownComponent") if c["SystemName"] == vm["Name"]][0]
    code, _ = conn.InvokeMethod("InitiateShutdown", component, Force=False, Reason="scenario")
    assert code == 0
    wait_until(lambda: state(conn, vm) == 3, "the VM off after InitiateShutdown")
    assert [c for c in conn.EnumerateInstanceNames("Msvm_ShutdownComponent") if c["SystemName"] == vm["Name"]] == []


def test_destroy(conn):
    vm = vm_state["vm"]
    check(conn, conn.InvokeMethod("DestroySystem", service(conn), AffectedSystem=vm))
    with pytest.raises(CIMError) as error:
        conn.GetInstance(vm)
    assert error.value.status_code == 6
    assert settings_of(conn, "Msvm_MemorySettingData", vm) == []
