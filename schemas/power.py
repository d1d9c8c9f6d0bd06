"""Power states and the requests that move a VM between them.

Hypervisor words, not CIM numbers: the CIM side maps RUNNING to EnabledState 2,
STARTING to 10 and so on (msvm-v2.md §2), and RequestStateChange values to
`PowerRequest`.
"""

from __future__ import annotations

from enum import Enum

from cimprovider.schemas.base import SchemaModel


class PowerState(str, Enum):
    RUNNING = "running"
    OFF = "off"
    SAVED = "saved"
    PAUSED = "paused"
    STARTING = "starting"
    STOPPING = "stopping"
    SAVING = "saving"
    PAUSING = "pausing"
    RESUMING = "resuming"

    @property
    def is_transitional(self) -> bool:
        return self in TRANSITIONAL_STATES


TRANSITIONAL_STATES = frozenset(
    {PowerState.STARTING, PowerState.STOPPING, PowerState.SAVING, PowerState.PAUSING, PowerState.RESUMING}
)
STABLE_STATES = frozenset(set(PowerState) - TRANSITIONAL_STATES)


class PowerRequest(str, Enum):
    START = "start"  # also resumes a paused VM and restores a saved one
    STOP = "stop"  # hard power-off
    SHUTDOWN = "shutdown"  # soft, through the guest's shutdown integration service
    SAVE = "save"
    PAUSE = "pause"
    RESUME = "resume"
    RESET = "reset"  # hard reset
    REBOOT = "reboot"  # soft, through the guest


class Health(str, Enum):
    """How the VM fares, beside its power state: a guest the hypervisor
    stopped by itself (an I/O error, a crash, an internal error) is paused
    or off like one a user stopped, but not healthy."""

    OK = "ok"
    DEGRADED = "degraded"  # it runs, or can, but something is wrong
    CRITICAL = "critical"  # the guest crashed or was stopped by an error
    LOST_COMMUNICATION = "lost_communication"  # the hypervisor cannot talk to the guest's process


class VmCondition(SchemaModel):
    health: Health = Health.OK
    detail: str = ""  # why, in the hypervisor's words; empty when OK
