"""Integration components, present while the guest exists:
Msvm_ShutdownComponent (InitiateShutdown, InitiateReboot),
Msvm_HeartbeatComponent, Msvm_KvpExchangeComponent (the guest's items as
embedded Msvm_KvpExchangeDataItem instances), Msvm_TimeSyncComponent and
Msvm_VssComponent."""

from __future__ import annotations

from typing import Any

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.backends import InvalidStateError
from cimprovider.providers.base import MethodProvider, MethodReturn, OperationContext, instance_not_found
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.resources.devices import DeviceProvider, Present, _base, device_vm
from cimprovider.providers.virtualization.errors import INVALID_STATE, hyperv_code
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.schemas.integration import IntegrationServiceKind, KvpItem, KvpSource
from cimprovider.schemas.power import PowerRequest, PowerState
from cimprovider.schemas.runtime import RuntimeFigures
from cimprovider.providers.virtualization.systems.power_jobs import submit_transition
from cimprovider.providers.virtualization.systems.states import HEARTBEAT, SERVICE_STATUS
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
        values = _base(classname, vm, f"{ids.device_id(vm.id)}\\{ids.guid(service.id)}", _NAMES[service.service])
        state = runtime.integration_services.get(service.service)
        values["EnabledState"] = 2 if service.enabled else 3
        if service.service is IntegrationServiceKind.HEARTBEAT:
            values["OperationalStatus"] = [HEARTBEAT[runtime.heartbeat]] if service.enabled else [12]
        else:
            values["OperationalStatus"] = [SERVICE_STATUS[state]] if state is not None else [12]
        if service.service is IntegrationServiceKind.KVP_EXCHANGE:
            guest = runtime.guest_kvp_items
            values["GuestIntrinsicExchangeItems"] = [kvp_item(virt, i) for i in guest if i.source is KvpSource.INTRINSIC]
            values["GuestExchangeItems"] = [kvp_item(virt, i) for i in guest if i.source is KvpSource.GUEST]
        found.append(Present(classname, values))
    return found


class IntegrationComponentProvider(DeviceProvider, MethodProvider):
    def __init__(self, virt: Virtualization) -> None:
        super().__init__(virt, tuple(COMPONENT_CLASSES.values()))

    def invoke_method(self, ctx: OperationContext, target: CIMInstanceName | str, method: str, params: dict[str, Any]) -> MethodReturn:
        name = method.lower()
        if isinstance(target, str) or target.classname.lower() != SHUTDOWN.lower() or name not in ("initiateshutdown", "initiatereboot"):
            return MethodProvider.invoke_method(self, ctx, target, method, params)
        vm_id = device_vm(target)
        vm = self.virt.find_vm(vm_id) if vm_id is not None else None
        if vm is None:
            raise instance_not_found(target)
        if vm.power_state is PowerState.STOPPING:
            return MethodReturn(SHUTDOWN_IN_PROGRESS)
        request = PowerRequest.SHUTDOWN if name == "initiateshutdown" else PowerRequest.REBOOT
        try:
            transition = self.virt.backend.begin_power_change(vm.id, request)
        except InvalidStateError:
            return MethodReturn(INVALID_STATE)
        except Exception as error:  # noqa: BLE001
            return MethodReturn(hyperv_code(error)[0])
        # The guest carries it out; Hyper-V answers at once and reports
        # no job, so the transition runs on the job runner unseen.
        submit_transition(self.virt, transition, "Guest shutdown", f"{request.value} of '{vm.name}' through the guest", vm.id)
        return MethodReturn(0)
