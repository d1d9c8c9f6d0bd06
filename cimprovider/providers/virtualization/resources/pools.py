"""Resource pools and capabilities: one primordial Msvm_ResourcePool (or
Msvm_ProcessorPool) per resource kind, its Msvm_AllocationCapabilities, and
the management service's Msvm_VirtualSystemManagementCapabilities and
Msvm_VirtualSystemManagementServiceSettingData."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pywbem import CIMInstance

from cimprovider.providers.base import InstanceProvider, OperationContext, PropertySet, Pushdown
from cimprovider.providers.virtualization import ids, kinds
from cimprovider.providers.virtualization.kinds import ResourceKind
from cimprovider.providers.virtualization.model import Virtualization

POOL_CLASSES = ("Msvm_ResourcePool", "Msvm_ProcessorPool")
ALLOCATION_CAPABILITIES = "Msvm_AllocationCapabilities"
MANAGEMENT_CAPABILITIES = "Msvm_VirtualSystemManagementCapabilities"
MANAGEMENT_SETTINGS = "Msvm_VirtualSystemManagementServiceSettingData"
MANAGEMENT_CAPABILITIES_ID = "Microsoft:VirtualSystemManagementCapabilities"


def pool_id(kind: ResourceKind) -> str:
    return f"{ids.PREFIX}{ids.guid(kind.pool_guid)}"


def capabilities_id(kind: ResourceKind) -> str:
    return f"{ids.PREFIX}{ids.guid(kind.guid)}"


def pool_values(virt: Virtualization, kind: ResourceKind) -> dict[str, Any]:
    host = virt.backend.host_info()
    capacity = {"processor": host.logical_processors * 100000, "memory": host.memory_mb}.get(kind.key)
    return {
        "InstanceID": pool_id(kind),
        "ElementName": kind.subtype_name,
        "Caption": f"{kind.subtype_name} Pool",
        "Description": f"The primordial pool of {kind.subtype_name.lower()} resources.",
        "PoolID": "",
        "Primordial": True,
        "ResourceType": kind.resource_type,
        "ResourceSubType": kind.subtype,
        "AllocationUnits": kind.allocation_units,
        "Capacity": capacity,
        "Reserved": 0,
        "ConsumedResourceUnits": kind.allocation_units,
        "HealthState": 5,
        "OperationalStatus": [2],
    }


def capabilities_values(kind: ResourceKind) -> dict[str, Any]:
    return {
        "InstanceID": capabilities_id(kind),
        "ElementName": f"{kind.subtype_name} Allocation Capabilities",
        "ResourceType": kind.resource_type,
        "ResourceSubType": kind.subtype,
        "SharingMode": 3 if kind.key in ("processor", "memory") else 2,  # shared / dedicated
        "SupportedAddStates": [2, 3] if kind.key in ("scsi_controller", "disk_drive", "hard_disk", "synthetic_nic", "connection") else [3],
        "SupportedRemoveStates": [2, 3] if kind.key in ("disk_drive", "hard_disk", "synthetic_nic", "connection") else [3],
        "RequestTypesSupported": 1,
    }


class PoolProvider(InstanceProvider):
    classnames = (*POOL_CLASSES, ALLOCATION_CAPABILITIES, MANAGEMENT_CAPABILITIES, MANAGEMENT_SETTINGS)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        render = self.virt.renderer.instance
        lowered = classname.lower()
        if lowered in (c.lower() for c in POOL_CLASSES):
            for kind in kinds.KINDS:
                if kind.pool_class.lower() == lowered:
                    yield render(kind.pool_class, pool_values(self.virt, kind), properties)
        elif lowered == ALLOCATION_CAPABILITIES.lower():
            for kind in kinds.KINDS:
                yield render(ALLOCATION_CAPABILITIES, capabilities_values(kind), properties)
        elif lowered == MANAGEMENT_CAPABILITIES.lower():
            yield render(MANAGEMENT_CAPABILITIES, management_capabilities(), properties)
        elif lowered == MANAGEMENT_SETTINGS.lower():
            yield render(MANAGEMENT_SETTINGS, management_settings(self.virt), properties)


def management_capabilities() -> dict[str, Any]:
    # CIM_VirtualSystemManagementCapabilities method codes: 1 DefineSystem,
    # 2 DestroySystem, 3 AddResourceSettings, 4 ModifyResourceSettings,
    # 5 ModifySystemSettings, 6 RemoveResourceSettings.
    return {
        "InstanceID": MANAGEMENT_CAPABILITIES_ID,
        "ElementName": "Virtual System Management Capabilities",
        "SynchronousMethodsSupported": [1, 2, 3, 4, 5, 6],
        "AsynchronousMethodsSupported": [],
        "VirtualSystemTypesSupported": ["Microsoft:Hyper-V:System:Realized"],
    }


def management_settings(virt: Virtualization) -> dict[str, Any]:
    host = virt.backend.host_info()
    roots = host.storage_roots
    return {
        "InstanceID": f"Microsoft:{virt.host_name}",
        "ElementName": "Virtual System Management Service Settings",
        "DefaultExternalDataRoot": roots[-1] if roots else None,
        "DefaultVirtualHardDiskPath": roots[0] if roots else None,
        "MinimumMacAddress": "00155D000100",
        "MaximumMacAddress": "00155DFFFFFF",
        "NumaSpanningEnabled": True,
        "EnhancedSessionModeEnabled": False,
        "PrimaryOwnerName": "Administrator",
    }
