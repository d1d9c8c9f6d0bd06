"""The integration components' provider: their instances while the guest
exists (values in components.py), and Msvm_ShutdownComponent's
InitiateShutdown and InitiateReboot."""

from __future__ import annotations

from typing import Any

from pywbem import CIMInstanceName

from cimprovider.backends import InvalidStateError
from cimprovider.providers.base import MethodProvider, MethodReturn, OperationContext, instance_not_found
from cimprovider.providers.virtualization.resources.components import COMPONENT_CLASSES, SHUTDOWN, SHUTDOWN_IN_PROGRESS
from cimprovider.providers.virtualization.resources.devices import DeviceProvider
from cimprovider.providers.virtualization.resources.present import device_vm
from cimprovider.providers.virtualization.errors import INVALID_STATE, hyperv_code
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.schemas.power import PowerRequest, PowerState
from cimprovider.providers.virtualization.systems.power_jobs import submit_transition

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
