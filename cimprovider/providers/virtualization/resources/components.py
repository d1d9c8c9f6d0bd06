"""The integration components' values, present while the guest exists:
Msvm_ShutdownComponent, Msvm_HeartbeatComponent, Msvm_KvpExchangeComponent
(the guest's items as embedded Msvm_KvpExchangeDataItem instances),
Msvm_TimeSyncComponent and Msvm_VssComponent. Their provider, with the
shutdown component's methods, is integration.py."""

from __future__ import annotations

from pywbem import CIMInstance

from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.resources.present import Present, base_values
from cimprovider.providers.virtualization.systems.states import HEARTBEAT, SERVICE_STATUS
from cimprovider.schemas.integration import IntegrationServiceKind, IntegrationServiceState, KvpItem, KvpSource
from cimprovider.schemas.runtime import HeartbeatState, RuntimeFigures
from cimprovider.schemas.vm import VirtualMachine

SHUTDOWN = "Msvm_ShutdownComponent"
KVP = "Msvm_KvpExchangeComponent"
KVP_ITEM = "Msvm_KvpExchangeDataItem"
COMPONENT_CLASSES = {
    IntegrationServiceKind.SHUTDOWN: SHUTDOWN,
    IntegrationServiceKind.HEARTBEAT: "Msvm_HeartbeatComponent",
    IntegrationServiceKind.KVP_EXCHANGE: KVP,
    IntegrationServiceKind.TIME_SYNC: "Msvm_TimeSyncComponent",
    IntegrationServiceKind.VSS: "Msvm_VssComponent",
}
_NAMES = {
    IntegrationServiceKind.SHUTDOWN: "Guest Shutdown",
    IntegrationServiceKind.HEARTBEAT: "Heartbeat",
    IntegrationServiceKind.KVP_EXCHANGE: "Key-Value Pair Exchange",
    IntegrationServiceKind.TIME_SYNC: "Time Synchronization",
    IntegrationServiceKind.VSS: "VSS",
}
KVP_SOURCES = {KvpSource.HOST: 0, KvpSource.GUEST: 1, KvpSource.INTRINSIC: 2, KvpSource.HOST_ONLY: 4}

# Msvm_ShutdownComponent return codes beyond the common ones.
SHUTDOWN_IN_PROGRESS = 32782


def kvp_item(virt: Virtualization, item: KvpItem) -> CIMInstance:
    return virt.renderer.embedded(KVP_ITEM, {"Name": item.name, "Data": item.data, "Source": KVP_SOURCES[item.source]}, only_given=True)


def components(virt: Virtualization, vm: VirtualMachine, runtime: RuntimeFigures) -> list[Present]:
    found = []
    for service in vm.integration_services:
        classname = COMPONENT_CLASSES.get(service.service)
        if classname is None:
            continue
        values = base_values(classname, vm, f"{ids.device_id(vm.id)}\\{ids.guid(service.id)}", _NAMES[service.service])
        state = runtime.integration_services.get(service.service)
        values["EnabledState"] = 2 if service.enabled else 3
        if service.service is IntegrationServiceKind.HEARTBEAT:
            values["OperationalStatus"] = [HEARTBEAT[runtime.heartbeat]] if service.enabled else [12]
        else:
            values["OperationalStatus"] = [SERVICE_STATUS[state]] if state is not None else [12]
        # A component the guest stopped answering is a major failure, as on Hyper-V.
        lost = (runtime.heartbeat is HeartbeatState.LOST_COMMUNICATION if service.service is IntegrationServiceKind.HEARTBEAT
                else state is IntegrationServiceState.LOST_COMMUNICATION)
        values["HealthState"] = 20 if lost and service.enabled else 5
        if service.service is IntegrationServiceKind.KVP_EXCHANGE:
            guest = runtime.guest_kvp_items
            values["GuestIntrinsicExchangeItems"] = [kvp_item(virt, i) for i in guest if i.source is KvpSource.INTRINSIC]
            values["GuestExchangeItems"] = [kvp_item(virt, i) for i in guest if i.source is KvpSource.GUEST]
        found.append(Present(classname, values))
    return found
