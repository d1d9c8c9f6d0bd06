"""Cumulative resource counters of a VM, as a hypervisor keeps them (CPU
time, bytes read and written…): the metrics sampler turns two readings into
rates and aggregates. Counters restart from 0 when the guest starts."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from cimprovider.schemas.base import SchemaModel
from cimprovider.schemas.power import PowerState, VmCondition
from cimprovider.schemas.runtime import HeartbeatState


class DiskCounters(SchemaModel):
    """One virtual disk, named by the drive it sits in (None when the
    hypervisor shows a disk the model has no drive for)."""

    drive_id: UUID | None = None
    path: str = ""
    read_bytes: int = Field(default=0, ge=0)
    write_bytes: int = Field(default=0, ge=0)
    read_requests: int = Field(default=0, ge=0)
    write_requests: int = Field(default=0, ge=0)
    # Time the requests spent in flight, summed over requests.
    request_time_ns: int = Field(default=0, ge=0)


class NicCounters(SchemaModel):
    adapter_id: UUID | None = None
    received_bytes: int = Field(default=0, ge=0)
    sent_bytes: int = Field(default=0, ge=0)


class VmCounters(SchemaModel):
    vm_id: UUID
    power_state: PowerState
    cpu_time_ns: int = Field(default=0, ge=0)
    vcpus: int = Field(default=1, ge=1)
    memory_mb: int = Field(default=0, ge=0)
    disks: tuple[DiskCounters, ...] = ()
    nics: tuple[NicCounters, ...] = ()
    # What the same reading says of the VM's health: why the hypervisor
    # stopped it, if it did, and the guest's heartbeat where the reading
    # knows it (UNKNOWN where it cannot tell without asking the guest).
    condition: VmCondition = Field(default_factory=VmCondition)
    heartbeat: HeartbeatState = HeartbeatState.UNKNOWN
