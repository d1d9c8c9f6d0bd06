"""The names of networking instances: switches by GUID (lower case, as
Hyper-V writes a switch's Name), the switch's settings `Microsoft:<GUID>`,
the allocations of its own ports `Microsoft:<switch GUID>\\<port GUID>`,
feature settings `<port allocation InstanceID>\\<feature GUID>\\<GUID>`
(os-win finds a feature's port by that prefix), and the paths of the
host's adapters and endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid5

from pywbem import CIMInstanceName

from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.model import CS, SWITCH, Virtualization
from cimprovider.schemas.host import VirtualSwitch

SWITCH_SERVICE = "Msvm_VirtualEthernetSwitchManagementService"
SWITCH_SERVICE_NAME = "nvspwmi"
SWITCH_SETTINGS = "Msvm_VirtualEthernetSwitchSettingData"
SWITCH_PORT = "Msvm_EthernetSwitchPort"
INTERNAL_PORT = "Msvm_InternalEthernetPort"
EXTERNAL_PORT = "Msvm_ExternalEthernetPort"
LAN_ENDPOINT = "Msvm_LANEndpoint"
EXTENSION = "Msvm_EthernetSwitchExtension"
EPASD = "Msvm_EthernetPortAllocationSettingData"

_NAMESPACE = UUID("0c5b5f3e-6f0e-4f61-9a41-2d4f0e0b7a21")  # our own stable GUIDs for ports


def switch_name(switch_id: UUID) -> str:
    return str(switch_id)


def switch_settings_id(switch_id: UUID) -> str:
    return f"{ids.PREFIX}{switch_name(switch_id)}"


def host_port_guid(switch_id: UUID, role: str) -> UUID:
    """The switch's external or internal port."""
    return uuid5(_NAMESPACE, f"{switch_id}/{role}")


def vm_port_guid(vm_id: UUID, nic_id: UUID) -> UUID:
    return uuid5(_NAMESPACE, f"{vm_id}/{nic_id}")


def adapter_guid(adapter: str) -> UUID:
    return uuid5(_NAMESPACE, f"adapter/{adapter}")


def internal_mac(switch_id: UUID) -> str:
    """The host's MAC on an internal switch: Microsoft's OUI and a suffix from the switch."""
    return "00155D" + uuid5(_NAMESPACE, f"{switch_id}/mac").hex[:6].upper()


def host_port_allocation_id(switch_id: UUID, role: str) -> str:
    return f"{switch_settings_id(switch_id)}\\{ids.guid(host_port_guid(switch_id, role))}"


def feature_id(allocation_id: str, feature_guid: UUID, setting_guid: UUID) -> str:
    return f"{allocation_id}\\{ids.guid(feature_guid)}\\{ids.guid(setting_guid)}"


@dataclass(frozen=True, slots=True)
class FeatureRef:
    allocation_id: str
    feature_guid: UUID
    setting_guid: UUID


def parse_feature_id(instance_id: str) -> FeatureRef | None:
    parts = instance_id.replace("/", "\\").rstrip("\\").split("\\")
    if len(parts) < 3:
        return None
    feature, setting = ids.parse_guid(parts[-2]), ids.parse_guid(parts[-1])
    if feature is None or setting is None:
        return None
    return FeatureRef("\\".join(parts[:-2]), feature, setting)


def parse_switch_settings_id(instance_id: str) -> tuple[UUID, tuple[str, ...]] | None:
    ref = ids.parse_setting_id(instance_id)
    return (ref.vm_id, ref.parts) if ref is not None else None


# --- paths -------------------------------------------------------------------


def switch_path(virt: Virtualization, switch_id: UUID) -> CIMInstanceName:
    return virt.switch_path(switch_id)


def service_path(virt: Virtualization) -> CIMInstanceName:
    return virt.service_path(SWITCH_SERVICE, SWITCH_SERVICE_NAME)


def switch_port_path(virt: Virtualization, switch: VirtualSwitch | UUID, port: UUID) -> CIMInstanceName:
    switch_id = switch.id if isinstance(switch, VirtualSwitch) else switch
    return CIMInstanceName(
        SWITCH_PORT,
        keybindings={"CreationClassName": SWITCH_PORT, "DeviceID": f"{ids.PREFIX}{ids.guid(port)}",
                     "SystemCreationClassName": SWITCH, "SystemName": switch_name(switch_id)},
        namespace=virt.namespace,
    )


def host_device_path(virt: Virtualization, classname: str, device_guid: UUID) -> CIMInstanceName:
    return CIMInstanceName(
        classname,
        keybindings={"CreationClassName": classname, "DeviceID": f"{ids.PREFIX}{ids.guid(device_guid)}",
                     "SystemCreationClassName": CS, "SystemName": virt.host_name},
        namespace=virt.namespace,
    )


def external_port_path(virt: Virtualization, adapter: str) -> CIMInstanceName:
    return host_device_path(virt, EXTERNAL_PORT, adapter_guid(adapter))


def internal_port_path(virt: Virtualization, switch_id: UUID) -> CIMInstanceName:
    return host_device_path(virt, INTERNAL_PORT, host_port_guid(switch_id, "internal"))


def endpoint_path(virt: Virtualization, system_class: str, system_name: str, guid: UUID) -> CIMInstanceName:
    return CIMInstanceName(
        LAN_ENDPOINT,
        keybindings={"CreationClassName": LAN_ENDPOINT, "Name": f"{ids.PREFIX}{ids.guid(guid)}",
                     "SystemCreationClassName": system_class, "SystemName": system_name},
        namespace=virt.namespace,
    )
