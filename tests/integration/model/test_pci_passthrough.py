"""PCI pass-through (Hyper-V's discrete device assignment) as os-win drives
it, on both backends: the host's Msvm_PciExpress instances are the
devices an admin allowed (found by VEN_/DEV_ in DeviceID); an
Msvm_PciExpressSettingData from the Default template, HostResource naming
one, is added to the VM's settings (libvirt: a `<hostdev>`); an assigned
device shows twice under one LocationPath, which is how os-win tells it is
taken; a device not allowed, one given already, or a change while the VM
runs is refused naming the device. libvirt runs its test driver on a host
description with two PCI node devices, the simulated host has two of its
own; one of the two is allowed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pywbem import CIMInstanceName, Uint16

from tests.integration.model.hyperv import NS, check, define_vm, request_state, service, settings_of, wait_job
from tests.support.live import in_process_server

PCI_SD = "Msvm_PciExpressSettingData"
ALLOWED, REFUSED = ("10DE", "1B80"), ("8086", "10FB")  # 0000:03:00.0 and 0000:04:00.0
HOST_XML = """<node>
  <cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads><active>2</active><mhz>2000</mhz></cpu>
  <memory>8388608</memory>
  <device><name>pci_0000_03_00_0</name><parent>computer</parent>
    <capability type='pci'><domain>0</domain><bus>3</bus><slot>0</slot><function>0</function>
      <product id='0x1b80'>GP104 [GeForce GTX 1080]</product><vendor id='0x10de'>NVIDIA Corporation</vendor></capability></device>
  <device><name>pci_0000_04_00_0</name><parent>computer</parent>
    <capability type='pci'><domain>0</domain><bus>4</bus><slot>0</slot><function>0</function>
      <product id='0x10fb'>82599ES 10-Gigabit SFI/SFP+</product><vendor id='0x8086'>Intel Corporation</vendor></capability></device>
</node>
"""


@pytest.fixture(params=["simulated", "libvirt"], scope="module")
def conn(request, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(request.param)
    options: dict[str, object] = {"backend": request.param}
    if request.param == "libvirt":
        host = data_dir / "host.xml"
        host.write_text(HOST_XML)
        options["libvirt_uri"] = f"test://{host}"
    with in_process_server(data_dir, pci_passthrough_devices=["0000:03:00.0"], **options) as live:
        yield live.connection(NS)


def assignable(conn, vendor: str, product: str):
    """os-win's _get_assignable_pci_device: the device, if no VM has it."""
    devices = conn.EnumerateInstances("Msvm_PciExpress")
    pattern = re.compile(f"^(.*)VEN_{vendor}&DEV_{product}&(.*)$")
    for device in devices:
        if pattern.match(device["DeviceID"]):
            same = [d for d in devices if d["LocationPath"] == device["LocationPath"]]
            if len(same) == 1:
                return same[0]
    return None


def new_pci_setting(conn, host_resource: str):
    """os-win's _get_new_setting_data: the Default template, filled in."""
    [template] = conn.ExecQuery("WQL", f"SELECT * FROM {PCI_SD} WHERE InstanceID LIKE '%\\\\Default'")
    template["HostResource"] = [host_resource]
    return template


def add_pci(conn, vm, host_resource: str) -> tuple[int, str]:
    vssd = conn.Associators(vm, AssocClass="Msvm_SettingsDefineState", ResultClass="Msvm_VirtualSystemSettingData")[0]
    code, out = conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vssd.path,
                                  ResourceSettings=[new_pci_setting(conn, host_resource).tocimxmlstr()])
    if int(code) == 4096:
        job = wait_job(conn, out["Job"])
        return int(job["ErrorCode"]), job["ErrorDescription"] or ""
    return int(code), ""


def test_the_host_offers_the_allowed_device_only(conn):
    devices = conn.EnumerateInstances("Msvm_PciExpress")
    assert len(devices) == 1
    [device] = devices
    path = device["DeviceInstancePath"]  # os-win's get_pci_passthrough_devices
    assert (re.findall("VEN_(.*)&DEV", path), re.findall("DEV_(.*)&SUBSYS", path)) == ([ALLOWED[0]], [ALLOWED[1]])
    assert device["SystemName"] == conn.EnumerateInstances("Msvm_VirtualSystemManagementService")[0]["SystemName"]
    assert conn.GetInstance(device.path)["LocationPath"] == device["LocationPath"]
    assert assignable(conn, *REFUSED) is None


def test_an_allowed_device_is_given_to_a_vm_and_taken_back(conn):
    vm = define_vm(conn, "dda")
    device = assignable(conn, *ALLOWED)
    assert device is not None
    assert add_pci(conn, vm, str(device.path)) == (0, "")
    [setting] = settings_of(conn, PCI_SD, vm)
    assert setting["ResourceSubType"] == "Microsoft:Hyper-V:Virtual Pci Express Port" and setting["ResourceType"] == 32769
    assert re.match(f"^(.*)VEN_{ALLOWED[0]}&DEV_{ALLOWED[1]}&(.*)$", setting["HostResource"][0])  # os-win's remove_pci_device
    # Given to a VM, the device shows twice under one LocationPath: os-win sees it taken.
    assert assignable(conn, *ALLOWED) is None
    twins = [d for d in conn.EnumerateInstances("Msvm_PciExpress") if d["LocationPath"] == device["LocationPath"]]
    assert sorted(d["SystemName"] for d in twins) == sorted([device["SystemName"], vm["Name"]])

    # A setting the model cannot honour is refused, never dropped: virtual functions (SR-IOV).
    setting["VirtualFunctions"] = [Uint16(1)]
    code, out = conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[setting.tocimxmlstr()])
    job = wait_job(conn, out["Job"]) if int(code) == 4096 else None
    assert (int(code) if job is None else job["ErrorCode"]) == 32773
    assert job is None or "VirtualFunctions" in job["ErrorDescription"]
    assert conn.GetInstance(setting.path)["VirtualFunctions"] == [0]

    other = define_vm(conn, "dda-other")
    code, description = add_pci(conn, other, str(device.path))
    assert code != 0 and "0000:03:00.0" in description and "dda" in description

    assert request_state(conn, vm, 2)[0] in (0, 4096)
    code, out = conn.InvokeMethod("RemoveResourceSettings", service(conn), ResourceSettings=[setting.path])
    job = wait_job(conn, out["Job"]) if int(code) == 4096 else None
    assert (int(code) if job is None else job["ErrorCode"]) == 32775  # only while the VM is off, as on Hyper-V
    assert request_state(conn, vm, 3)[0] in (0, 4096)
    check(conn, conn.InvokeMethod("RemoveResourceSettings", service(conn), ResourceSettings=[setting.path]))
    assert settings_of(conn, PCI_SD, vm) == []
    assert assignable(conn, *ALLOWED) is not None


def test_a_device_not_allowed_is_refused(conn):
    vm = define_vm(conn, "dda-refused")
    [device] = conn.EnumerateInstances("Msvm_PciExpress")
    refused_id = device["DeviceID"].replace(f"VEN_{ALLOWED[0]}&DEV_{ALLOWED[1]}", f"VEN_{REFUSED[0]}&DEV_{REFUSED[1]}")
    refused_id = refused_id.replace("0000:03:00.0", "0000:04:00.0")
    refused = CIMInstanceName("Msvm_PciExpress", keybindings={**device.path.keybindings, "DeviceID": refused_id}, namespace=NS)
    code, description = add_pci(conn, vm, str(refused))
    assert code == 32773 and "HostResource" in description and "0000:04:00.0" in description
    assert settings_of(conn, PCI_SD, vm) == []
