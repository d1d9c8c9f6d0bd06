"""The query shapes Hyper-V clients send (msvm-v2.md §5), over pywbem
ExecQuery against a live server with real VMs: os-win's lookups, template
and pool queries, the free-slot query with the raw Parent path, the job
of a VM, and the ASSOCIATORS OF forms of old os-win, libvirt and scripts.
Each row is the query text and what a Hyper-V client expects back."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from pywbem import CIMInstance, Uint16

from tests.integration.model.hyperv import NS, check, define_vm, request_state, service, template, wait_job

RASD = "Msvm_ResourceAllocationSettingData"
DRIVE_SUBTYPES = ("Microsoft:Hyper-V:Physical Disk Drive", "Microsoft:Hyper-V:Synthetic Disk Drive", "Microsoft:Hyper-V:Synthetic DVD Drive")


@dataclass
class World:
    """Two VMs: `web` running, with a SCSI controller holding a disk drive
    and a DVD drive; `idle` off with defaults. Texts as clients have them."""

    web: object
    idle: object
    guid: str
    idle_guid: str
    vm_text: str  # the CS __PATH as WMI writes it
    controller_text: str  # the controller's path, as the drives' Parent holds it
    controller_id: str
    job_id: str  # the job of web's last RequestStateChange


def wmi_path(host: str, path) -> str:
    keys = ",".join(f'{k}="{v}"' for k, v in sorted(path.keybindings.items()))
    return f"\\\\{host}\\root\\virtualization\\v2:{path.classname}.{keys}"


@pytest.fixture(scope="module")
def world(server) -> World:
    conn = server.connection(NS)
    web = define_vm(conn, "qm-web")
    idle = define_vm(conn, "qm-idle")
    vssd = conn.AssociatorNames(web, AssocClass="Msvm_SettingsDefineState", ResultClass="Msvm_VirtualSystemSettingData")[0]
    controller = template(conn, RASD, "Microsoft:Hyper-V:Synthetic SCSI Controller")
    controller["VirtualSystemIdentifiers"] = ["{%s}" % uuid.uuid4()]
    out = check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vssd, ResourceSettings=[controller.tocimxmlstr()]))
    controller_path = out["ResultingResourceSettings"][0]
    host = conn.EnumerateInstances("Msvm_VirtualSystemManagementService")[0]["SystemName"]
    for slot, subtype in enumerate(("Microsoft:Hyper-V:Synthetic Disk Drive", "Microsoft:Hyper-V:Synthetic DVD Drive")):
        drive = template(conn, RASD, subtype)
        drive["Parent"] = wmi_path(host, controller_path)
        drive["Address"] = drive["AddressOnParent"] = str(slot)
        check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=web, ResourceSettings=[drive.tocimxmlstr()]))
    parent = next(d["Parent"] for d in conn.EnumerateInstances(RASD) if d["ResourceSubType"] == "Microsoft:Hyper-V:Synthetic Disk Drive" and d["InstanceID"].startswith(f"Microsoft:{web['Name']}"))
    code, job = request_state(conn, web, 2)
    assert code == 4096 and job["JobState"] == 7
    return World(web, idle, web["Name"], idle["Name"], wmi_path(host, web), parent, controller_path["InstanceID"], job["InstanceID"])


@dataclass(frozen=True)
class Shape:
    source: str  # who sends it
    text: Callable[[World], str]
    expect: Callable[[World, list], None]


def ids(found: list) -> set[str]:
    return {str(i["InstanceID"]) for i in found}


def only_vm(found: list, world: World, prop: str = "InstanceID") -> None:
    assert found and all(str(i[prop]).upper().startswith(f"MICROSOFT:{world.guid}") for i in found), [i[prop] for i in found]


def expect_realized(world: World, found: list) -> None:
    names = {i["ElementName"] for i in found}
    assert {"qm-web", "qm-idle"} <= names
    assert set(found[0].keys()) >= {"ElementName", "Notes"}


def expect_web_cs(world: World, found: list) -> None:
    assert [i["Name"] for i in found] == [world.guid] and found[0]["Caption"] == "Virtual Machine"


def expect_web_vssd(world: World, found: list) -> None:
    assert [i["ConfigurationID"] for i in found] == [world.guid]
    assert found[0]["VirtualSystemType"] == "Microsoft:Hyper-V:System:Realized"


def expect_all_settings(world: World, found: list) -> None:
    only_vm(found, world)
    subtypes = {i["ResourceSubType"] for i in found}
    assert {"Microsoft:Hyper-V:Memory", "Microsoft:Hyper-V:Processor", "Microsoft:Hyper-V:Synthetic SCSI Controller",
            "Microsoft:Hyper-V:Synthetic Disk Drive", "Microsoft:Hyper-V:Synthetic DVD Drive"} <= subtypes
    assert "Microsoft:Hyper-V:Key-Value Pair Exchange Component" in {i["OtherResourceType"] for i in found}


def expect_one_of(classname: str, subtype: str) -> Callable[[World, list], None]:
    def expect(world: World, found: list) -> None:
        only_vm(found, world)
        assert len(found) == 1 and found[0].classname == classname and found[0]["ResourceSubType"] == subtype
    return expect


def expect_defaults(classname: str, subtypes: set[str]) -> Callable[[World, list], None]:
    def expect(world: World, found: list) -> None:
        assert all(i["InstanceID"].startswith("Microsoft:Definition\\") and i["InstanceID"].endswith("\\Default") for i in found)
        assert {i.classname for i in found} == {classname}
        assert sorted(i["ResourceSubType"] for i in found) == sorted(subtypes)
    return expect


def expect_pool(subtype: str, resource_type: int) -> Callable[[World, list], None]:
    def expect(world: World, found: list) -> None:
        assert len(found) == 1 and found[0]["Primordial"] is True
        assert found[0]["ResourceSubType"] == subtype and found[0]["ResourceType"] == resource_type
    return expect


def expect_drives_on_controller(world: World, found: list) -> None:
    only_vm(found, world)
    assert sorted((i["ResourceSubType"], i["AddressOnParent"]) for i in found) == [
        ("Microsoft:Hyper-V:Synthetic DVD Drive", "1"), ("Microsoft:Hyper-V:Synthetic Disk Drive", "0")]


def expect_the_job(world: World, found: list) -> None:
    jobs = [i["AffectingElement"]["InstanceID"] for i in found]
    assert world.job_id in jobs
    assert all(i["AffectedElement"]["Name"] == world.guid for i in found)


def expect_vssd_of_web(world: World, found: list) -> None:
    assert [i["InstanceID"] for i in found] == [f"Microsoft:{world.guid}"]


def expect_processor_of_web(world: World, found: list) -> None:
    assert len(found) == 1 and found[0].classname == "Msvm_ProcessorSettingData"
    only_vm(found, world)


def expect_kvp_component(world: World, found: list) -> None:
    assert [(i.classname, i["SystemName"]) for i in found] == [("Msvm_KvpExchangeComponent", world.guid)]


def expect_shutdown_component(world: World, found: list) -> None:
    assert [(i.classname, i["SystemName"]) for i in found] == [("Msvm_ShutdownComponent", world.guid)]


def expect_nothing(world: World, found: list) -> None:
    assert found == []


def expect_the_controller(world: World, found: list) -> None:
    assert [i["InstanceID"] for i in found] == [world.controller_id]


def wql_escaped(text: str) -> str:
    """As MS samples embed paths: `\\` → `\\\\`, `"` → `\\"`."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def free_slot(parent: Callable[[World], str]) -> Callable[[World], str]:
    return lambda w: (f"SELECT * FROM {RASD} WHERE (" + " OR ".join(f"ResourceSubType='{s}'" for s in DRIVE_SUBTYPES)
                      + f") AND Parent = '{parent(w)}'")


SHAPES: dict[str, Shape] = {
    "realized-vssds": Shape("os-win", lambda w: "SELECT ElementName, Notes FROM Msvm_VirtualSystemSettingData WHERE VirtualSystemType = 'Microsoft:Hyper-V:System:Realized'", expect_realized),
    "cs-by-name": Shape("os-win", lambda w: "SELECT * FROM Msvm_ComputerSystem WHERE ElementName = 'qm-web'", expect_web_cs),
    "vssd-by-name": Shape("os-win", lambda w: "SELECT * FROM Msvm_VirtualSystemSettingData WHERE ElementName = 'qm-web'", expect_web_vssd),
    "all-settings-of-vm": Shape("os-win", lambda w: f"SELECT * FROM CIM_ResourceAllocationSettingData WHERE InstanceID LIKE 'Microsoft:{w.guid}%'", expect_all_settings),
    "memory-of-vm": Shape("os-win", lambda w: f"SELECT * FROM Msvm_MemorySettingData WHERE InstanceID LIKE 'Microsoft:{w.guid}%'", expect_one_of("Msvm_MemorySettingData", "Microsoft:Hyper-V:Memory")),
    "processor-of-vm": Shape("os-win", lambda w: f"SELECT * FROM Msvm_ProcessorSettingData WHERE InstanceID LIKE 'Microsoft:{w.guid}%'", expect_one_of("Msvm_ProcessorSettingData", "Microsoft:Hyper-V:Processor")),
    "kvp-setting-of-vm": Shape("scripts", lambda w: f"SELECT * FROM Msvm_KvpExchangeComponentSettingData WHERE InstanceID LIKE 'Microsoft:{w.guid}%'", 
                               expect_one_of("Msvm_KvpExchangeComponentSettingData", "Microsoft:Hyper-V:Key-Value Pair Exchange Component")),
    "rasd-defaults": Shape("os-win", lambda w: f"SELECT * FROM {RASD} WHERE InstanceID LIKE '%\\Default'", expect_defaults(RASD, {
        "Microsoft:Hyper-V:Emulated IDE Controller", "Microsoft:Hyper-V:Synthetic SCSI Controller",
        "Microsoft:Hyper-V:Synthetic Disk Drive", "Microsoft:Hyper-V:Physical Disk Drive", "Microsoft:Hyper-V:Synthetic DVD Drive"})),
    "rasd-default-by-subtype": Shape("os-win", lambda w: f"SELECT * FROM {RASD} WHERE ResourceSubType = 'Microsoft:Hyper-V:Synthetic SCSI Controller' AND InstanceID LIKE '%\\Default'",
                                     expect_defaults(RASD, {"Microsoft:Hyper-V:Synthetic SCSI Controller"})),
    "sasd-default-by-subtype": Shape("os-win", lambda w: "SELECT * FROM Msvm_StorageAllocationSettingData WHERE ResourceSubType = 'Microsoft:Hyper-V:Virtual Hard Disk' AND InstanceID LIKE '%\\Default'",
                                     expect_defaults("Msvm_StorageAllocationSettingData", {"Microsoft:Hyper-V:Virtual Hard Disk"})),
    "sepsd-default": Shape("os-win", lambda w: "SELECT * FROM Msvm_SyntheticEthernetPortSettingData WHERE InstanceID LIKE '%\\Default'",
                           expect_defaults("Msvm_SyntheticEthernetPortSettingData", {"Microsoft:Hyper-V:Synthetic Ethernet Port"})),
    "cloudstack-default": Shape("CloudStack", lambda w: f'SELECT * FROM {RASD} WHERE ResourceSubType LIKE "Microsoft:Hyper-V:Synthetic Disk Drive" AND InstanceID LIKE "%Default"',
                                expect_defaults(RASD, {"Microsoft:Hyper-V:Synthetic Disk Drive"})),
    "memory-pool": Shape("MS samples", lambda w: "select * from Msvm_ResourcePool where ResourceSubType = 'Microsoft:Hyper-V:Memory' and Primordial = True", expect_pool("Microsoft:Hyper-V:Memory", 4)),
    "connection-pool": Shape("MS samples", lambda w: "select * from Msvm_ResourcePool where ResourceType = 33 and Primordial = True", expect_pool("Microsoft:Hyper-V:Ethernet Connection", 33)),
    "cim-pool-by-type": Shape("CloudStack", lambda w: 'SELECT * FROM CIM_ResourcePool WHERE ResourceType="31" AND ResourceSubType="Microsoft:Hyper-V:Virtual Hard Disk" AND PoolId=""',
                              expect_pool("Microsoft:Hyper-V:Virtual Hard Disk", 31)),
    "free-slot-raw-parent": Shape("os-win", free_slot(lambda w: w.controller_text), expect_drives_on_controller),
    "free-slot-escaped-parent": Shape("MS samples", free_slot(lambda w: wql_escaped(w.controller_text)), expect_drives_on_controller),
    "detach-by-path": Shape("os-win", lambda w: f"SELECT * FROM {RASD} WHERE __PATH = '{w.controller_text}'", expect_the_controller),
    "job-of-vm": Shape("os-win", lambda w: f"SELECT * FROM Msvm_AffectedJobElement WHERE AffectedElement='{w.vm_text}'", expect_the_job),
    "assoc-vssd-of-cs": Shape("old os-win, libvirt", lambda w: (
        f'ASSOCIATORS OF {{Msvm_ComputerSystem.CreationClassName="Msvm_ComputerSystem",Name="{w.guid}"}} '
        "WHERE AssocClass = Msvm_SettingsDefineState ResultClass = Msvm_VirtualSystemSettingData"), expect_vssd_of_web),
    "assoc-processor-of-vssd": Shape("old os-win, libvirt", lambda w: (
        f'ASSOCIATORS OF {{Msvm_VirtualSystemSettingData.InstanceID="Microsoft:{w.guid}"}} '
        "WHERE AssocClass = Msvm_VirtualSystemSettingDataComponent ResultClass = Msvm_ProcessorSettingData"), expect_processor_of_web),
    "assoc-kvp-of-vm-path": Shape("scripts", lambda w: (
        f"Associators of {{{w.vm_text}}} Where AssocClass=Msvm_SystemDevice ResultClass=Msvm_KvpExchangeComponent"), expect_kvp_component),
    "shutdown-component-of-vm": Shape("os-win", lambda w: f"SELECT * FROM Msvm_ShutdownComponent WHERE SystemName='{w.guid}'", expect_shutdown_component),
    "shutdown-component-of-off-vm": Shape("os-win", lambda w: f"SELECT * FROM Msvm_ShutdownComponent WHERE SystemName='{w.idle_guid}'", expect_nothing),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_query_shape(server, world: World, shape: str) -> None:
    conn = server.connection(NS)
    text = SHAPES[shape].text(world)
    found = conn.ExecQuery("WQL", text)
    SHAPES[shape].expect(world, found)


def test_memory_pool_leads_to_the_default_template(server, world: World) -> None:
    """MS samples: the primordial pool → ElementCapabilities → allocation
    capabilities → SettingsDefineCapabilities with ValueRole 0 → the Default."""
    conn = server.connection(NS)
    [pool] = conn.ExecQuery("WQL", "select * from Msvm_ResourcePool where ResourceSubType = 'Microsoft:Hyper-V:Memory' and Primordial = True")
    [caps] = conn.AssociatorNames(pool.path, AssocClass="Msvm_ElementCapabilities", ResultClass="Msvm_AllocationCapabilities")
    defaults = [r["PartComponent"] for r in conn.References(caps, ResultClass="Msvm_SettingsDefineCapabilities") if r["ValueRole"] == 0]
    assert len(defaults) == 1
    default = conn.GetInstance(defaults[0])
    assert default.classname == "Msvm_MemorySettingData" and default["InstanceID"].endswith("\\Default")
