"""The typed events backends and jobs publish on the bus.

Events are immutable and carry whole models where a subscriber would
otherwise have to read them back (a cache or an indication needs the new
instance, and for a removal the old one).
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Literal, Union
from uuid import UUID

from pydantic import Field

from cimprovider.schemas.base import SchemaModel
from cimprovider.schemas.devices import Device
from cimprovider.schemas.host import VirtualSwitch
from cimprovider.schemas.integration import IntegrationServiceKind, KvpItem
from cimprovider.schemas.jobs import JobStatus
from cimprovider.schemas.power import PowerRequest, PowerState
from cimprovider.schemas.vm import VirtualMachine


def _now() -> datetime:
    return datetime.now(timezone.utc)


class EventBase(SchemaModel):
    timestamp: datetime = Field(default_factory=_now)


class VmDefined(EventBase):
    kind: Literal["vm_defined"] = "vm_defined"
    vm: VirtualMachine


class VmDestroyed(EventBase):
    kind: Literal["vm_destroyed"] = "vm_destroyed"
    vm: VirtualMachine  # as it was before it went


class VmModified(EventBase):
    """System settings changed (name, notes, actions…); devices have their own events."""

    kind: Literal["vm_modified"] = "vm_modified"
    previous: VirtualMachine
    vm: VirtualMachine


class PowerStateChanged(EventBase):
    kind: Literal["power_state_changed"] = "power_state_changed"
    vm_id: UUID
    old: PowerState
    new: PowerState
    # The request in flight (Hyper-V's RequestedState); None once settled or
    # when the change came from the guest or the hypervisor itself.
    request: PowerRequest | None = None


class DeviceAdded(EventBase):
    kind: Literal["device_added"] = "device_added"
    vm_id: UUID
    device: Device


class DeviceRemoved(EventBase):
    kind: Literal["device_removed"] = "device_removed"
    vm_id: UUID
    device: Device


class DeviceModified(EventBase):
    kind: Literal["device_modified"] = "device_modified"
    vm_id: UUID
    previous: Device
    device: Device


class KvpChange(str, Enum):
    ADDED = "added"
    MODIFIED = "modified"
    REMOVED = "removed"


class KvpChanged(EventBase):
    kind: Literal["kvp_changed"] = "kvp_changed"
    vm_id: UUID
    change: KvpChange
    item: KvpItem


class SwitchDefined(EventBase):
    kind: Literal["switch_defined"] = "switch_defined"
    switch: VirtualSwitch


class SwitchModified(EventBase):
    """Name, notes, ports, features or state changed."""

    kind: Literal["switch_modified"] = "switch_modified"
    previous: VirtualSwitch
    switch: VirtualSwitch


class SwitchDestroyed(EventBase):
    kind: Literal["switch_destroyed"] = "switch_destroyed"
    switch: VirtualSwitch  # as it was before it went


class JobChange(str, Enum):
    CREATED = "created"
    MODIFIED = "modified"  # state or progress
    EXPIRED = "expired"  # retention ended; the job is forgotten


class JobChanged(EventBase):
    kind: Literal["job_changed"] = "job_changed"
    change: JobChange
    job: JobStatus


class BackendHealth(SchemaModel):
    """Whether the backend can reach its hypervisor. A libvirt backend that
    lost its connection keeps answering from nothing and retries with
    backoff; `reconnect_attempts` counts the tries since the loss."""

    healthy: bool = True
    detail: str = ""
    since: datetime = Field(default_factory=_now)
    reconnect_attempts: int = Field(default=0, ge=0)


class BackendHealthChanged(EventBase):
    """The backend lost or regained its hypervisor; the host's HealthState
    follows it."""

    kind: Literal["backend_health_changed"] = "backend_health_changed"
    backend: str
    health: BackendHealth


class VmHealth(SchemaModel):
    """An element's health (a VM's, the host's, an integration
    component's) as Hyper-V reports it: HealthState (5 OK, 10 degraded,
    20 major failure, 25 critical), OperationalStatus codes and a
    description of each problem."""

    health_state: int = 5
    operational_status: tuple[int, ...] = (2,)
    descriptions: tuple[str, ...] = ("Operating normally",)
    # DMTF's ProbableCause of the worst problem (0 unknown while healthy).
    probable_cause: int = 0


class HostHealthChanged(EventBase):
    """The host's health changed: its hypervisor became unreachable or a
    storage root filled up (or the condition cleared)."""

    kind: Literal["host_health_changed"] = "host_health_changed"
    health: VmHealth
    previous: VmHealth


class ComponentHealthChanged(EventBase):
    """An integration component of a running guest changed health (its
    heartbeat was lost, or came back)."""

    kind: Literal["component_health_changed"] = "component_health_changed"
    vm_id: UUID
    component: IntegrationServiceKind
    health: VmHealth
    previous: VmHealth


class VmHealthChanged(EventBase):
    """The metrics sampler found a VM's health changed (a disk file of a
    running VM vanished, or came back)."""

    kind: Literal["vm_health_changed"] = "vm_health_changed"
    vm_id: UUID
    health: VmHealth
    previous: VmHealth


Event = Annotated[
    Union[
        VmDefined,
        VmDestroyed,
        VmModified,
        PowerStateChanged,
        DeviceAdded,
        DeviceRemoved,
        DeviceModified,
        KvpChanged,
        SwitchDefined,
        SwitchModified,
        SwitchDestroyed,
        JobChanged,
        BackendHealthChanged,
        VmHealthChanged,
        HostHealthChanged,
        ComponentHealthChanged,
    ],
    Field(discriminator="kind"),
]
