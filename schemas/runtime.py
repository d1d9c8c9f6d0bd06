"""Figures that exist only while a VM runs (Hyper-V's SummaryInformation and
integration component states)."""

from __future__ import annotations

from enum import Enum
from uuid import UUID

from pydantic import Field

from cimprovider.schemas.base import SchemaModel
from cimprovider.schemas.integration import IntegrationServiceKind, IntegrationServiceState, KvpItem
from cimprovider.schemas.power import PowerState


class HeartbeatState(str, Enum):
    OK = "ok"
    DEGRADED = "degraded"
    NO_CONTACT = "no_contact"
    LOST_COMMUNICATION = "lost_communication"
    PAUSED = "paused"
    UNKNOWN = "unknown"  # the VM is not running or has no heartbeat service


class RuntimeFigures(SchemaModel):
    vm_id: UUID
    power_state: PowerState
    uptime_ms: int = Field(default=0, ge=0)
    processor_load_percent: int = Field(default=0, ge=0, le=100)
    memory_in_use_mb: int = Field(default=0, ge=0)
    # Virtual processors the running guest has now, where the hypervisor can
    # change them live (libvirt's setvcpus); None: as many as configured.
    processors_online: int | None = Field(default=None, ge=1)
    # The mode (width, height) the running display drives, where the
    # hypervisor says (libvirt's live video model); None: the VM's display
    # setting tells it.
    display_mode: tuple[int, int] | None = None
    heartbeat: HeartbeatState = HeartbeatState.UNKNOWN
    # Empty while the VM is off: the services exist only in a running guest.
    integration_services: dict[IntegrationServiceKind, IntegrationServiceState] = Field(default_factory=dict)
    # Guest-written and intrinsic KVP items (the host's own are on the VM).
    guest_kvp_items: tuple[KvpItem, ...] = ()
