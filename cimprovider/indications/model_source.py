"""The model's side of indications: backend bus events turned into
CIM_InstCreation, CIM_InstModification and CIM_InstDeletion of the Msvm
instances they change, rendered with the providers' own value functions.

The translation runs in the publisher's thread — a backend holding its own
lock, a job worker — so it never queries the backend. It keeps a mirror of
every VM (seeded once when the server is assembled, then moved by the
events, which carry whole models or, for power, the new state) and of
every job, and renders both sides of a change from that mirror. An event
yields the difference between the VM's instances before and after it: a
start creates the guest's devices and integration components and modifies
the VM twice (through Starting); a NIC added creates its
Msvm_SyntheticEthernetPortSettingData (and connection); a pause modifies
the VM and the heartbeat component.

What only a live reading gives (uptime, processor load, memory in use, the
guest's own KVP items) is not in the mirror: in indications those
properties carry their resting values.

The mirror moves on every event; instances are built only while somebody
subscribes, and only of classes some filter could select.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from uuid import UUID

from pywbem import CIMInstance

from cimprovider.backends import BackendError
from cimprovider.backends.protocol import CatchingUp
from cimprovider.events import EventBus, Subscription
from cimprovider.indications.instance_views import Values, View, differences, keyed
from cimprovider.indications.service import IndicationService
from cimprovider.indications.source import ChangeKind, InstanceChange
from cimprovider.jobs import JobStatus
from cimprovider.providers.registry import ProviderRegistry
from cimprovider.providers.virtualization.resources.devices import hardware
from cimprovider.providers.virtualization.resources.components import components
from cimprovider.providers.virtualization.jobs import JOB, job_values
from cimprovider.indications.method_calls import raise_method_calls
from cimprovider.providers.virtualization.model import CS, Virtualization
from cimprovider.providers.virtualization.resources.resources import vm_settings
from cimprovider.providers.virtualization.systems.settings import VSSD, vssd_values
from cimprovider.providers.virtualization.systems.states import GUEST_PRESENT, POWER_REQUESTS
from cimprovider.providers.virtualization.storage.storage_jobs import STORAGE_JOB, is_storage_job, storage_job_values
from cimprovider.providers.virtualization.systems.systems import vm_values
from cimprovider.schemas.devices import DeviceKind
from cimprovider.schemas.events import (
    DeviceAdded,
    DeviceModified,
    DeviceRemoved,
    EventBase,
    JobChange,
    JobChanged,
    PowerStateChanged,
    VmDefined,
    VmDestroyed,
    VmHealth,
    VmHealthChanged,
    VmModified,
)
from cimprovider.schemas.host import Host
from cimprovider.schemas.integration import IntegrationServiceKind, IntegrationServiceState
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.runtime import HeartbeatState, RuntimeFigures
from cimprovider.schemas.vm import VirtualMachine

log = logging.getLogger(__name__)

VM_EVENTS = (VmDefined, VmDestroyed, VmModified, PowerStateChanged, DeviceAdded, DeviceRemoved, DeviceModified)
_REQUEST_CODES = {request: code for code, request in POWER_REQUESTS.items()}

# Which of a VM's instances each event can change: the system (CS and
# VSSD), its resource settings, the devices its guest has.
SYSTEM, SETTINGS, DEVICES = "system", "settings", "devices"
FACETS: dict[type[EventBase], tuple[str, ...]] = {
    VmDefined: (SYSTEM, SETTINGS, DEVICES),
    VmDestroyed: (SYSTEM, SETTINGS, DEVICES),
    VmModified: (SYSTEM, SETTINGS, DEVICES),
    PowerStateChanged: (SYSTEM, DEVICES),
    DeviceAdded: (SETTINGS, DEVICES),
    DeviceRemoved: (SETTINGS, DEVICES),
    DeviceModified: (SETTINGS, DEVICES),
}


class _KnownHost:
    """The one thing the value functions ask of a backend, answered from
    what was read when the server was assembled."""

    def __init__(self, host: Host) -> None:
        self._host = host

    def host_info(self) -> Host:
        return self._host


class _KnownRetention:
    """The job runner's one constant a rendered job shows (TimeBeforeRemoval)."""

    def __init__(self, seconds: float) -> None:
        self.retention_seconds = seconds


class _WithHealth:
    """The model view answering one health finding for the VM (the one
    before or after a change), not the sampler's latest."""

    def __init__(self, view: "ModelView", health: VmHealth) -> None:
        self._view = view
        self._health = health

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)

    def vm_health(self, _vm_id: UUID) -> VmHealth:
        return self._health


class ModelView:
    """What the providers' value functions read of Virtualization, with no
    live backend behind it: paths and text are the same pure functions,
    RequestedState and TimeOfLastStateChange come from the events, and
    nothing is cached. A value function that starts reading the backend
    fails here (AttributeError) rather than query it from a publisher."""

    def __init__(self, virt: Virtualization, host: Host) -> None:
        self.renderer = virt.renderer
        self.host_name = virt.host_name
        self.namespace = virt.namespace
        self.backend = _KnownHost(host)
        self.jobs = _KnownRetention(virt.jobs.retention_seconds)
        self.requested: dict[UUID, int] = dict(virt.requested)
        self.state_since = dict(virt.state_since)
        self._virt = virt

    @property
    def vm_health(self) -> Any:
        """The sampler's last finding: a lookup in memory, never a query."""
        return self._virt.vm_health

    @property
    def host_health(self) -> Any:
        return self._virt.host_health

    text = Virtualization.text
    system_path = Virtualization.system_path
    vm_path = Virtualization.vm_path
    setting_path = Virtualization.setting_path
    switch_path = Virtualization.switch_path
    device_path = Virtualization.device_path

    def cached(self, name: str, vm_id: UUID) -> None:
        return None

    def remember(self, name: str, vm_id: UUID, value: Any, vm: VirtualMachine) -> None:
        pass


def resting_runtime(vm: VirtualMachine) -> RuntimeFigures:
    """Runtime figures of a guest that is up and well, for the device and
    integration component values (the live ones are read only on request)."""
    if vm.power_state not in GUEST_PRESENT:
        return RuntimeFigures(vm_id=vm.id, power_state=vm.power_state)
    paused = vm.power_state is PowerState.PAUSED
    enabled = [s.service for s in vm.integration_services if s.enabled]
    services = {
        kind: IntegrationServiceState.PAUSED if paused and kind is IntegrationServiceKind.HEARTBEAT else IntegrationServiceState.OK
        for kind in enabled
    }
    heartbeat = HeartbeatState.UNKNOWN
    if IntegrationServiceKind.HEARTBEAT in enabled:
        heartbeat = HeartbeatState.PAUSED if paused else HeartbeatState.OK
    return RuntimeFigures(vm_id=vm.id, power_state=vm.power_state, heartbeat=heartbeat, integration_services=services)


_DEVICE_FIELDS = {
    DeviceKind.CONTROLLER: "controllers",
    DeviceKind.DRIVE: "drives",
    DeviceKind.NETWORK_ADAPTER: "network_adapters",
    DeviceKind.SERIAL_PORT: "serial_ports",
    DeviceKind.INTEGRATION_SERVICE: "integration_services",
}


def moved(vm: VirtualMachine, event: EventBase) -> VirtualMachine:
    """`vm` as it is after a power or device event about it."""
    if isinstance(event, PowerStateChanged):
        return vm.model_copy(update={"power_state": event.new})
    if isinstance(event, (DeviceAdded, DeviceModified, DeviceRemoved)):
        device = event.device
        if device.kind is DeviceKind.PROCESSOR:
            return vm.model_copy(update={"processor": device})
        if device.kind is DeviceKind.MEMORY:
            return vm.model_copy(update={"memory": device})
        field = _DEVICE_FIELDS[device.kind]
        items = tuple(d for d in getattr(vm, field) if d.id != device.id)
        if not isinstance(event, DeviceRemoved):
            current = getattr(vm, field)
            index = next((i for i, d in enumerate(current) if d.id == device.id), len(current))
            items = items[:index] + (device,) + items[index:]
        return vm.model_copy(update={field: items})
    return vm


class ModelIndications:
    def __init__(self, virt: Virtualization, service: IndicationService, host: Host) -> None:
        self.view = ModelView(virt, host)
        self.renderer = virt.renderer
        self.service = service
        self._lock = threading.Lock()
        self._vms: dict[UUID, VirtualMachine] = {}
        self._jobs: dict[UUID, JobStatus] = {}
        self._subscription: Subscription | None = None

    def attach(self, bus: EventBus, vms: Iterable[VirtualMachine], jobs: Iterable[JobStatus]) -> None:
        """Follow `bus`, starting from the VMs and jobs that exist now.
        Subscribing first: an event that races the seeding only refreshes
        a mirror entry with what the event says."""
        self._subscription = bus.subscribe(self.on_event, (*VM_EVENTS, JobChanged, VmHealthChanged))
        with self._lock:
            for vm in vms:
                self._vms.setdefault(vm.id, vm)
            for job in jobs:
                self._jobs.setdefault(job.id, job)

    def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()

    # --- events ------------------------------------------------------------

    def on_event(self, event: EventBase) -> None:
        # One lock over mirror and publication: changes of one element reach
        # the service in the order the backend published them.
        with self._lock:
            if isinstance(event, JobChanged):
                changes = self._job_changed(event)
            elif isinstance(event, VmHealthChanged):
                changes = self._health_changed(event)
            else:
                changes = self._vm_changed(event)
            for change in changes:
                self.service.publish(change)

    def _vm_changed(self, event: EventBase) -> list[InstanceChange]:
        vm_id: UUID = event.vm.id if isinstance(event, (VmDefined, VmDestroyed, VmModified)) else event.vm_id  # type: ignore[attr-defined]
        before = self._vms.get(vm_id)
        if isinstance(event, (VmDefined, VmModified)):
            after: VirtualMachine | None = event.vm
        elif isinstance(event, VmDestroyed):
            after = None
        elif before is None:
            log.debug("%s for VM %s, which was never seen defined", type(event).__name__, vm_id)
            return []
        else:
            after = moved(before, event)
        wanted = self.service.has_subscribers
        facets = FACETS[type(event)]
        old = self._view(before, facets) if wanted and before is not None else {}
        if after is None:
            self._vms.pop(vm_id, None)
            self.view.requested.pop(vm_id, None)
            self.view.state_since.pop(vm_id, None)
        else:
            self._vms[vm_id] = after
        if isinstance(event, PowerStateChanged):
            if event.request is not None:
                self.view.requested[vm_id] = _REQUEST_CODES.get(event.request, 2)
            else:
                self.view.requested.pop(vm_id, None)
            self.view.state_since[vm_id] = event.timestamp
        if not wanted:
            return []
        new = self._view(after, facets) if after is not None else {}
        return list(differences(self.service, self.renderer, old, new))

    def _health_changed(self, event: VmHealthChanged) -> list[InstanceChange]:
        """The sampler found the VM's health changed: its Msvm_ComputerSystem
        (HealthState, OperationalStatus, StatusDescriptions) was modified, as
        Hyper-V raises __InstanceModificationEvent for it."""
        vm = self._vms.get(event.vm_id)
        if vm is None or not self.service.has_subscribers:
            return []

        def shown(health: VmHealth) -> View:
            return keyed(self.renderer, iter([(CS, vm_values(_WithHealth(self.view, health), vm))]))  # type: ignore[arg-type]

        return list(differences(self.service, self.renderer, shown(event.previous), shown(event.health)))

    def _job_changed(self, event: JobChanged) -> list[InstanceChange]:
        job = event.job
        previous = self._jobs.get(job.id)
        if event.change is JobChange.EXPIRED:
            self._jobs.pop(job.id, None)
        else:
            self._jobs[job.id] = job
        ns = self.renderer.namespace
        if not self.service.has_subscribers or not self.service.may_select(ns, _job_class(job)):
            return []
        source = self._job_instance(job)
        if event.change is JobChange.CREATED:
            return [InstanceChange(ChangeKind.CREATED, ns, source)]
        if event.change is JobChange.EXPIRED:
            return [InstanceChange(ChangeKind.DELETED, ns, source)]
        return [InstanceChange(ChangeKind.MODIFIED, ns, source, self._job_instance(previous or job))]

    def _job_instance(self, job: JobStatus) -> CIMInstance:
        if _job_class(job) == STORAGE_JOB:
            return self.renderer.instance(STORAGE_JOB, storage_job_values(self.view, job))  # type: ignore[arg-type]
        return self.renderer.instance(JOB, job_values(self.view, job))  # type: ignore[arg-type]

    # --- a VM's instances, before and after ---------------------------------

    def _view(self, vm: VirtualMachine, facets: tuple[str, ...]) -> View:
        return keyed(self.renderer, self._elements(vm, facets))

    def _elements(self, vm: VirtualMachine, facets: tuple[str, ...]) -> Iterator[tuple[str, Values]]:
        model: Any = self.view  # the value functions take a Virtualization; the view reads the same
        if SYSTEM in facets:
            yield CS, vm_values(model, vm)
            yield VSSD, vssd_values(model, vm)
        if SETTINGS in facets:
            for setting in vm_settings(model, vm):
                yield setting.kind.classname, setting.values
        if DEVICES in facets and vm.power_state in GUEST_PRESENT:
            runtime = resting_runtime(vm)
            for present in hardware(vm, runtime) + components(model, vm, runtime):
                yield present.classname, present.values

def _job_class(job: JobStatus) -> str:
    return STORAGE_JOB if is_storage_job(job) else JOB


def raise_model_indications(virt: Virtualization, service: IndicationService,
                            registry: ProviderRegistry) -> ModelIndications:
    """Raise indications for the model's changes and its services' method
    calls. Reads the backend once, here, while the server is assembled."""
    source = ModelIndications(virt, service, virt.backend.host_info())
    backend = virt.backend
    catching_up = isinstance(backend, CatchingUp)
    try:
        # A backend that kept what it last published starts the mirror
        # there, then publishes what changed while the server was down.
        vms = backend.last_published() if catching_up else backend.list_vms()
    except BackendError as error:
        # The hypervisor is away: VMs join the mirror as their events
        # (which carry whole models) arrive.
        log.warning("model indications start without the existing VMs: %s", error)
        vms = []
    source.attach(backend.events, vms, virt.jobs.list())
    if catching_up:
        backend.catch_up()
    raise_method_calls(registry, virt.namespace, service)
    return source
