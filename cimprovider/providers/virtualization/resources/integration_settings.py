"""The configured state of a VM's integration components, as Hyper-V
keeps it: one setting per component (Msvm_ShutdownComponentSettingData,
…HeartbeatComponent…, …TimeSyncComponent…, …VssComponent…,
…KvpExchangeComponent…), InstanceID `Microsoft:<VMGUID>\\<component GUID>`,
EnabledState 2 or 3. Unlike the components themselves (present only while
the guest runs) these exist whatever the VM's state, so a client can turn a
component on or off through ModifyResourceSettings before starting the VM.

The KVP component's setting carries the host's items: HostExchangeItems
(Source 0, sent to the guest) and HostOnlyItems (Source 4, kept in the
configuration), as embedded Msvm_KvpExchangeDataItem instances — where
Hyper-V clients read back what AddKvpItems wrote.

Values follow Microsoft's class pages; ResourceSubType, which they leave
unset, repeats OtherResourceType so a filter on either finds the setting."""

from __future__ import annotations

from typing import Any

from cimprovider.providers.virtualization import ids, kinds
from cimprovider.providers.virtualization.resources.components import kvp_item
from cimprovider.providers.virtualization.kinds import ResourceKind
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.schemas.devices import IntegrationService
from cimprovider.schemas.integration import KvpSource
from cimprovider.schemas.vm import VirtualMachine

_NAMES = {
    kinds.SHUTDOWN_COMPONENT: "Shutdown",
    kinds.HEARTBEAT_COMPONENT: "Heartbeat",
    kinds.TIME_SYNC_COMPONENT: "Time Synchronization",
    kinds.VSS_COMPONENT: "VSS",
    kinds.KVP_COMPONENT: "Key-Value Pair Exchange",
}


def component_kind(service: IntegrationService) -> ResourceKind | None:
    """The setting kind of a backend integration service (None for guest
    services, which v2 has no setting class for)."""
    return kinds.BY_SERVICE.get(service.service)


def component_values(virt: Virtualization, vm: VirtualMachine, kind: ResourceKind, service: IntegrationService) -> dict[str, Any]:
    name = _NAMES[kind]
    values: dict[str, Any] = {
        "InstanceID": ids.device_setting_id(vm.id, service.id),
        "Caption": name,
        "Description": f"Microsoft {name} Service Setting Data",
        "ElementName": name,
        "ResourceType": kind.resource_type,
        "OtherResourceType": kind.subtype,
        "ResourceSubType": kind.subtype,
        "PoolID": "",
        "ConsumerVisibility": 3,
        "HostResource": [],
        "AllocationUnits": "count",
        "VirtualQuantity": 1,
        "Reservation": 1,
        "Limit": 1,
        "Weight": 0,
        "AutomaticAllocation": True,
        "AutomaticDeallocation": True,
        "VirtualQuantityUnits": "count",
        "EnabledState": 2 if service.enabled else 3,
    }
    if kind is kinds.HEARTBEAT_COMPONENT:
        values.update(ErrorThreshold=2, Interval=2000, Latency=1000)
    if kind is kinds.KVP_COMPONENT:
        values.update(
            DisableHostKVPItems=False,
            HostExchangeItems=[kvp_item(virt, i) for i in vm.kvp_items if i.source is KvpSource.HOST],
            HostOnlyItems=[kvp_item(virt, i) for i in vm.kvp_items if i.source is KvpSource.HOST_ONLY],
        )
    return values
