"""Msvm_ComputerSystem — the host ("Hosting Computer System") and every VM
("Virtual Machine", Name = upper-case GUID) — with RequestStateChange.

Enumerations are served from kept reply XML (wire/kept.py), so a VM's
instance object is built on demand and not kept: with 10,000 VMs the
kept objects cost some 35 MB next to the XML that already serves the
enumerations. Under a property list only the asked properties are built."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from uuid import UUID

from pywbem import CIMInstance, CIMInstanceName, Uint64

from cimprovider.backends.errors import HeldError
from cimprovider.backends.protocol import HealthReporting
from cimprovider.jobs import JobFailure
from cimprovider.providers.base import (
    InstanceProvider,
    Keepable,
    Keepables,
    MethodProvider,
    MethodReturn,
    OperationContext,
    PropertySet,
    Pushdown,
    instance_not_found,
)
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.errors import (
    INVALID_PARAMETER,
    INVALID_STATE,
    JOB_STARTED,
    hyperv_code,
)
from cimprovider.providers.virtualization.jobs import job_path
from cimprovider.providers.virtualization.keeping import fresh
from cimprovider.providers.virtualization.model import CS, Virtualization
from cimprovider.providers.virtualization.systems.power_jobs import submit_transition
from cimprovider.providers.virtualization.systems.states import (
    ENABLED_STATE,
    GUEST_PRESENT,
    POWER_REQUESTS,
    REQUESTED_STATE_IDLE,
    health_values,
    held_values,
)
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.vm import VirtualMachine

_RUNNING_CLOCK = frozenset(GUEST_PRESENT - {PowerState.STARTING})
# The host's owner among kept replies: no VM's event names it.
HOST = "host"
T = TypeVar("T")


def host_values(virt: Virtualization) -> dict[str, Any]:
    # A backend that lost its hypervisor: the host is failing (HealthState
    # 20, Major Failure) and has lost communication (OperationalStatus 13).
    health = virt.backend.health() if isinstance(virt.backend, HealthReporting) else None
    lost = health is not None and not health.healthy
    return {**host_identity(virt), **host_health_values(virt, health.detail if lost and health is not None else None)}


def host_health_while_lost(virt: Virtualization) -> dict[str, Any]:
    """The host's health properties while the backend has lost its
    hypervisor; empty while it reaches it."""
    health = virt.backend.health() if isinstance(virt.backend, HealthReporting) else None
    return {} if health is None or health.healthy else host_health_values(virt, health.detail)


def host_health_values(virt: Virtualization, lost: str | None) -> dict[str, Any]:
    """The backend says at once when its hypervisor is gone; the sampler's
    last finding adds what it checks (a full storage root)."""
    found = virt.host_health() if virt.host_health is not None else None
    if found is not None and found.health_state >= (20 if lost is not None else 10):
        return {"HealthState": found.health_state, "OperationalStatus": list(found.operational_status),
                "StatusDescriptions": list(found.descriptions)}
    if lost is not None:
        return {"HealthState": 20, "OperationalStatus": [13], "StatusDescriptions": [lost]}
    return {"HealthState": 5, "OperationalStatus": [2], "StatusDescriptions": ["OK"]}


def host_identity(virt: Virtualization) -> dict[str, Any]:
    return {
        "CreationClassName": CS,
        "Name": virt.host_name,
        "ElementName": virt.host_name,
        "Caption": "Hosting Computer System",
        "Description": "Microsoft Hosting Computer System",
        "EnabledState": 2,
        "RequestedState": 12,
        "EnabledDefault": 2,
        "Dedicated": [0],
        "ResetCapability": 1,
        "PrimaryOwnerName": "Administrator",
        "NumberOfNumaNodes": 1,
        "EnhancedSessionModeState": 3,
    }


def vm_health_values(virt: Virtualization, vm: VirtualMachine) -> dict[str, Any]:
    """What the metrics sampler last found (it reads the hypervisor's own
    verdict too, with a vanished disk, a lost heartbeat, a full storage
    root) and, until its next interval, what the hypervisor says now."""
    found = virt.vm_health(vm.id) if virt.vm_health is not None else None
    if found is not None and found.health_state != 5:
        values = {"HealthState": found.health_state, "OperationalStatus": list(found.operational_status),
                  "StatusDescriptions": list(found.descriptions)}
    else:
        values = health_values(vm.condition)
    return held_values(values, vm.held) if vm.held else values


def vm_values(virt: Virtualization, vm: VirtualMachine) -> dict[str, Any]:
    return {
        "CreationClassName": CS,
        "Name": ids.guid(vm.id),
        "ElementName": vm.name,
        "Caption": "Virtual Machine",
        "Description": "Microsoft Virtual Machine",
        "InstanceID": None,
        "EnabledState": ENABLED_STATE[vm.power_state],
        "RequestedState": virt.requested.get(vm.id, REQUESTED_STATE_IDLE),
        "EnabledDefault": 2,
        "TimeOfLastStateChange": virt.state_since.get(vm.id),
        **vm_health_values(virt, vm),
        "CommunicationStatus": 2 if vm.power_state in GUEST_PRESENT else 1,
        "PrimaryStatus": 1,
        "Dedicated": [0],
        "ResetCapability": 1,
        "AvailableRequestedStates": [2, 3, 6, 9, 10, 11],
        "OnTimeInMilliseconds": 0,
        "ProcessID": (vm.id.int % 60000 + 1000) if vm.power_state in GUEST_PRESENT else None,
        "NumberOfNumaNodes": 1,
        "ReplicationState": 0,
        "ReplicationHealth": 0,
        "ReplicationMode": 0,
        "EnhancedSessionModeState": 3,
    }


class ComputerSystemProvider(InstanceProvider, MethodProvider):
    classnames = (CS,)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        if self._host_admitted(pushdown):
            yield self.virt.renderer.instance(CS, host_values(self.virt), properties)
        yield from self.virt.present(self._reachable_vms(pushdown), lambda vm: [self.vm_instance(vm, properties)])

    def enumerate_keepable(self, ctx: OperationContext, classname: str, properties: PropertySet) -> Iterator[CIMInstance | Keepables]:
        source = _KeptSystems(self, properties)
        if self._host_keepable():
            yield Keepable(HOST, CS, source)
        else:
            yield self.virt.renderer.instance(CS, host_values(self.virt), properties)
        owners = self._reachable_ids()
        yield Keepables(owners, [CS] * len(owners), source)

    def enumerate_instance_names(self, ctx: OperationContext, classname: str, pushdown: Pushdown | None = None) -> Iterator[CIMInstanceName]:
        if self._host_admitted(pushdown):
            yield self.virt.host_path()
        for vm in self._reachable_vms(pushdown):
            yield self.virt.vm_path(vm.id)

    def _reachable_vms(self, pushdown: Pushdown | None) -> list[VirtualMachine]:
        """The VMs, or none while the backend has lost its hypervisor: the
        host instance (HealthState 20, its StatusDescriptions) then says why,
        which tells a client more than a failed enumeration would."""
        return self._unless_lost(lambda: self.virt.vms(pushdown, key="Name", name="ElementName"))

    def _host_keepable(self) -> bool:
        """The host's instance is kept while the backend reaches its
        hypervisor: its health then changes only with the sampler's finding
        or a loss, both on the bus (which forgets every kept reply). A lost
        backend's detail changes quietly with each reconnection try: that
        instance is built every time."""
        backend = self.virt.backend
        return not isinstance(backend, HealthReporting) or backend.health().healthy

    def _reachable_ids(self) -> list[UUID]:
        """The VMs' ids as the model keeps them (shared: not to be
        changed), or none while the backend has lost its hypervisor."""
        return self._unless_lost(self.virt.vm_ids)

    def _unless_lost(self, listing: Callable[[], list[T]]) -> list[T]:
        """What `listing` finds, or nothing when it fails because the
        backend has lost its hypervisor; any other failure is raised."""
        try:
            return listing()
        except Exception:
            health = self.virt.backend.health() if isinstance(self.virt.backend, HealthReporting) else None
            if health is not None and not health.healthy:
                return []
            raise

    def _host_admitted(self, pushdown: Pushdown | None) -> bool:
        host = self.virt.host_name
        if pushdown is None:
            return True
        if pushdown.paths and not any(str(p.keybindings.get("Name", "")).lower() == host.lower() for p in pushdown.paths):
            return False
        return pushdown.admits("Name", host) and pushdown.admits("ElementName", host)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        name = next((v for k, v in path.keybindings.items() if k.lower() == "name"), None)
        if isinstance(name, str) and name.lower() == self.virt.host_name.lower():
            return self.virt.renderer.instance(CS, host_values(self.virt), properties)
        vm_id = ids.parse_guid(name) if isinstance(name, str) else None
        vm = self.virt.find_vm(vm_id) if vm_id is not None else None
        if vm is None:
            raise instance_not_found(path)
        with self.virt.gone_is_not_found(path):
            return self.vm_instance(vm, properties)

    def get_keepable(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> Keepable | None:
        # A VM's reply is kept as its enumeration's are; the host's follows
        # the backend's health and is built every time.
        name = next((v for k, v in path.keybindings.items() if k.lower() == "name"), None)
        if isinstance(name, str) and name.lower() == self.virt.host_name.lower():
            return None
        vm_id = ids.parse_guid(name) if isinstance(name, str) else None
        vm = self.virt.find_vm(vm_id) if vm_id is not None else None
        if vm is None:
            raise instance_not_found(path)
        return Keepable(vm.id, CS, _KeptSystems(self, properties))

    def vm_instance(self, vm: VirtualMachine, properties: PropertySet) -> CIMInstance:
        values = vm_values(self.virt, vm)
        if vm.power_state in _RUNNING_CLOCK and (properties is None or "ontimeinmilliseconds" in properties):
            # The one property that moves without an event.
            values["OnTimeInMilliseconds"] = self.virt.backend.get_runtime(vm.id).uptime_ms
        return self.virt.renderer.instance(CS, values, properties)

    def invoke_method(self, ctx: OperationContext, target: CIMInstanceName | str, method: str, params: dict[str, Any]) -> MethodReturn:
        if method.lower() != "requeststatechange" or isinstance(target, str):
            return super().invoke_method(ctx, target, method, params)
        vm_id = self.virt.vm_from_system(target)
        if vm_id is None and (target.keybindings.get("Name") or "").lower() == self.virt.host_name.lower():
            return MethodReturn(INVALID_STATE)  # the host is not powered through WMI
        vm = self.virt.vm_or_not_found(vm_id, target)
        return request_state_change(self.virt, vm, params.get("RequestedState"))


class _KeptSystems:
    """The host's and the VMs' instances of one enumeration, built when
    nothing is kept."""

    def __init__(self, provider: ComputerSystemProvider, properties: PropertySet) -> None:
        self.provider = provider
        self.properties = properties

    def build(self, owner: UUID | str, key: object) -> CIMInstance | None:
        virt = self.provider.virt
        if isinstance(owner, str):
            return virt.renderer.instance(CS, host_values(virt), self.properties)
        return fresh(virt, owner, lambda vm: self.provider.vm_instance(vm, self.properties))  # type: ignore[arg-type]

    def live(self, owner: UUID | str) -> dict[str, Any]:
        """What moves without an event: a running VM's uptime; the host's
        health while the backend has lost its hypervisor (its detail
        changes quietly with each reconnection try), in case the host was
        offered as kept just before the loss and is built after it."""
        virt = self.provider.virt
        if isinstance(owner, str):
            return host_health_while_lost(virt)
        vm = virt.find_vm(owner)
        if vm is None or vm.power_state not in _RUNNING_CLOCK:
            return {}
        return {"OnTimeInMilliseconds": Uint64(virt.backend.get_runtime(vm.id).uptime_ms)}


def request_state_change(virt: Virtualization, vm: VirtualMachine, requested: Any) -> MethodReturn:
    """Hyper-V's answer: 32775 at once if the request does not fit the
    state (or a transition is in flight), else 4096 and a job that carries
    the transition. A VM held while it migrates answers 4096 and a job
    failed with 32775 whose ErrorDescription says why (which migration,
    to which host), as the immediate code cannot."""
    if requested is None or int(requested) not in POWER_REQUESTS:
        return MethodReturn(INVALID_PARAMETER)
    request = POWER_REQUESTS[int(requested)]
    try:
        transition = virt.backend.begin_power_change(vm.id, request)
    except HeldError as error:
        return _failed_change(virt, vm, INVALID_STATE, str(error))
    except Exception as error:  # noqa: BLE001 - every failure is a return code
        return MethodReturn(hyperv_code(error)[0])
    description = f"Changing the state of '{vm.name}' to {request.value}"
    job = submit_transition(virt, transition, "Virtual machine state change", description, vm.id)
    return MethodReturn(JOB_STARTED, {"Job": job_path(virt, job.id)})


def _failed_change(virt: Virtualization, vm: VirtualMachine, code: int, message: str) -> MethodReturn:
    def work(_progress: Any, _token: Any) -> None:
        raise JobFailure(code, message)

    job = virt.jobs.submit(work, "RequestStateChange", f"Changing the state of '{vm.name}' failed", (vm.id,),
                           cancellable=False)
    return MethodReturn(JOB_STARTED, {"Job": job_path(virt, job.id)})
