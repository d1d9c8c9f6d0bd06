"""A client's side of Hyper-V networking, as os-win's NetworkUtils and
Microsoft's samples write it, over pywbem: the switch service, templates
found by InstanceID LIKE '%\\Default', embedded instances, and jobs."""

from __future__ import annotations

import pywbem
from pywbem import CIMInstance, CIMInstanceName

from tests.integration.model.hyperv import FINISHED, check, service, template, wait_job

EPASD = "Msvm_EthernetPortAllocationSettingData"
SEPSD = "Msvm_SyntheticEthernetPortSettingData"
VESSD = "Msvm_VirtualEthernetSwitchSettingData"
SWITCH = "Msvm_VirtualEthernetSwitch"
VLAN = "Msvm_EthernetSwitchPortVlanSettingData"
SECURITY = "Msvm_EthernetSwitchPortSecuritySettingData"
BANDWIDTH = "Msvm_EthernetSwitchPortBandwidthSettingData"


def switch_service(conn: pywbem.WBEMConnection) -> CIMInstanceName:
    return conn.EnumerateInstanceNames("Msvm_VirtualEthernetSwitchManagementService")[0]


def default_of(conn: pywbem.WBEMConnection, classname: str) -> CIMInstance:
    """os-win's `SELECT * FROM <cls> WHERE InstanceID LIKE '%\\Default'`."""
    found = conn.ExecQuery("WQL", f"SELECT * FROM {classname} WHERE InstanceID LIKE '%\\\\Default'", "root/virtualization/v2")
    assert found, f"no \\Default {classname}"
    return found[0]


def host_port(conn: pywbem.WBEMConnection, host_resource: CIMInstanceName) -> str:
    port = template(conn, EPASD)
    port["HostResource"] = [host_resource.to_wbem_uri()]
    return port.tocimxmlstr()


def host_path(conn: pywbem.WBEMConnection) -> CIMInstanceName:
    return next(p for p in conn.EnumerateInstanceNames("Msvm_ComputerSystem")
                if conn.GetInstance(p, PropertyList=["Caption"])["Caption"] == "Hosting Computer System")


def adapter_path(conn: pywbem.WBEMConnection, name: str) -> CIMInstanceName:
    return next(i.path for i in conn.EnumerateInstances("Msvm_ExternalEthernetPort") if i["ElementName"] == name)


def define_switch(conn: pywbem.WBEMConnection, name: str, kind: str = "private", adapter: str = "eth0") -> CIMInstanceName:
    settings = default_of(conn, VESSD)
    settings["ElementName"] = name
    ports = []
    if kind == "internal":
        ports.append(host_port(conn, host_path(conn)))
    if kind == "external":
        ports.append(host_port(conn, adapter_path(conn, adapter)))
    out = check(conn, conn.InvokeMethod("DefineSystem", switch_service(conn), SystemSettings=settings.tocimxmlstr(),
                                         ResourceSettings=ports, ReferenceConfiguration=None))
    return out["ResultingSystem"]


def failure(conn: pywbem.WBEMConnection, answer: tuple) -> tuple[int, str]:
    """(ErrorCode, ErrorDescription) of a call that must fail, as os-win reads it."""
    code, out = int(answer[0]), answer[1]
    assert code == 4096, code
    job = wait_job(conn, out["Job"])
    assert job["JobState"] in FINISHED and job["JobState"] == 10, job["JobState"]
    return int(job["ErrorCode"]), str(job["ErrorDescription"])


def switch_by_name(conn: pywbem.WBEMConnection, name: str) -> list[CIMInstance]:
    """os-win's `Msvm_VirtualEthernetSwitch(ElementName=name)`."""
    return conn.ExecQuery("WQL", f"SELECT * FROM {SWITCH} WHERE ElementName = '{name}'", "root/virtualization/v2")


def settings_of_switch(conn: pywbem.WBEMConnection, switch: CIMInstanceName | CIMInstance) -> CIMInstance:
    if isinstance(switch, CIMInstance):
        switch = switch.path
    return conn.Associators(switch, AssocClass="Msvm_SettingsDefineState", ResultClass=VESSD)[0]



def add_adapter(conn: pywbem.WBEMConnection, vm: CIMInstanceName, port_name: str, classname: str = SEPSD) -> CIMInstance:
    """os-win's create_nic: a default adapter named after its port → AddResourceSettings(VSSD)."""
    nic = template(conn, classname)
    nic["ElementName"] = port_name
    vssd = conn.AssociatorNames(vm, AssocClass="Msvm_SettingsDefineState")[0]
    out = check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vssd, ResourceSettings=[nic.tocimxmlstr()]))
    return conn.GetInstance(out["ResultingResourceSettings"][0])


def connect(conn: pywbem.WBEMConnection, switch: CIMInstanceName, port_name: str, classname: str = SEPSD) -> CIMInstanceName:
    """os-win's connect_vnic_to_vswitch: the allocation named after the port,
    added (Parent = the adapter, HostResource = the switch) on the CS when
    missing, else modified."""
    found = conn.ExecQuery("WQL", f"SELECT * FROM {EPASD} WHERE ElementName = '{port_name}'", "root/virtualization/v2")
    vnic = conn.ExecQuery("WQL", f"SELECT * FROM {classname} WHERE ElementName = '{port_name}'", "root/virtualization/v2")[0]
    port = found[0] if found else default_of(conn, EPASD)
    port["ElementName"] = port_name
    port["HostResource"] = [switch.to_wbem_uri()]
    port["Parent"] = vnic.path.to_wbem_uri()
    if found:
        out = check(conn, conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[port.tocimxmlstr()]))
    else:
        vssd = conn.Associators(vnic.path, ResultClass="Msvm_VirtualSystemSettingData")[0]
        vm = conn.AssociatorNames(vssd.path, ResultClass="Msvm_ComputerSystem")[0]
        out = check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[port.tocimxmlstr()]))
    return out["ResultingResourceSettings"][0]


def ports_of_switch(conn: pywbem.WBEMConnection, switch: CIMInstanceName) -> list[CIMInstance]:
    """os-win's get_switch_ports: the switch's associated Msvm_EthernetSwitchPort."""
    return conn.Associators(switch, ResultClass="Msvm_EthernetSwitchPort")
