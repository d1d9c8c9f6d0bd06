"""CIM numbers for hypervisor words: EnabledState, RequestStateChange
values, heartbeat and integration service status (msvm-v2.md §2, §4)."""

from __future__ import annotations

from cimprovider.schemas.integration import IntegrationServiceState
from cimprovider.schemas.power import Health, PowerRequest, PowerState, VmCondition
from cimprovider.schemas.runtime import HeartbeatState

ENABLED_STATE: dict[PowerState, int] = {
    PowerState.RUNNING: 2,
    PowerState.OFF: 3,
    PowerState.STOPPING: 4,
    PowerState.SAVED: 6,
    PowerState.PAUSED: 9,
    PowerState.STARTING: 10,
    PowerState.SAVING: 32773,
    PowerState.PAUSING: 32776,
    PowerState.RESUMING: 32777,
}

# RequestStateChange values Hyper-V v2 accepts. 4 (shut down) is v1's, kept
# because the simulated guest can honour it; v2 clients use the
# ShutdownComponent.
POWER_REQUESTS: dict[int, PowerRequest] = {
    2: PowerRequest.START,
    3: PowerRequest.STOP,
    4: PowerRequest.SHUTDOWN,
    6: PowerRequest.SAVE,
    9: PowerRequest.PAUSE,
    10: PowerRequest.REBOOT,
    11: PowerRequest.RESET,
}

REQUESTED_STATE_IDLE = 5  # "No Change": what Hyper-V reports when nothing is in flight

# Devices and integration components exist while the guest does.
GUEST_PRESENT = frozenset(set(PowerState) - {PowerState.OFF, PowerState.SAVED})

HEARTBEAT: dict[HeartbeatState, int] = {
    HeartbeatState.OK: 2,
    HeartbeatState.DEGRADED: 3,
    HeartbeatState.NO_CONTACT: 12,
    HeartbeatState.LOST_COMMUNICATION: 13,
    HeartbeatState.PAUSED: 15,
    HeartbeatState.UNKNOWN: 12,
}

# SummaryInformation.Heartbeat has only OK/Error/No Contact/Lost Communication.
SUMMARY_HEARTBEAT: dict[HeartbeatState, int] = {
    HeartbeatState.OK: 2,
    HeartbeatState.DEGRADED: 6,
    HeartbeatState.NO_CONTACT: 12,
    HeartbeatState.LOST_COMMUNICATION: 13,
    HeartbeatState.PAUSED: 2,
    HeartbeatState.UNKNOWN: 12,
}

SERVICE_STATUS: dict[IntegrationServiceState, int] = {
    IntegrationServiceState.OK: 2,
    IntegrationServiceState.DEGRADED: 3,
    IntegrationServiceState.NO_CONTACT: 12,
    IntegrationServiceState.LOST_COMMUNICATION: 13,
    IntegrationServiceState.PAUSED: 15,
}


# How a Hyper-V host service (vmms, vhdsvc, vssnapsvc…) reports itself
# while it runs: enabled, healthy, started automatically with the host.
RUNNING_SERVICE: dict[str, object] = {
    "EnabledState": 2,
    "RequestedState": 12,
    "EnabledDefault": 2,
    "HealthState": 5,
    "OperationalStatus": [2],
    "Started": True,
    "StartMode": "Automatic",
}


# A VM's health as Hyper-V shows it: (HealthState, OperationalStatus); its
# StatusDescriptions say why (Hyper-V's own phrase while all is well).
HEALTH: dict[Health, tuple[int, list[int]]] = {
    Health.OK: (5, [2]),  # OK / OK
    Health.DEGRADED: (20, [3]),  # Major Failure / Degraded
    Health.CRITICAL: (25, [6]),  # Critical Failure / Error
    Health.LOST_COMMUNICATION: (20, [13]),  # Major Failure / Lost Communication
}


def health_values(condition: VmCondition) -> dict[str, object]:
    health, operational = HEALTH[condition.health]
    description = "Operating normally" if condition.health is Health.OK else condition.detail or condition.health.value
    return {"HealthState": health, "OperationalStatus": operational, "StatusDescriptions": [description]}


# An operation holding a VM, as Hyper-V shows it: OperationalStatus[0] In
# Service (11) where it would say OK, and after the health codes the
# operation's own, 32774 Migrating Virtual Machine; its StatusDescriptions
# entry is the reason every change is refused now.
IN_SERVICE, MIGRATING = 11, 32774


def held_values(values: dict[str, object], reason: str) -> dict[str, object]:
    codes = list(values["OperationalStatus"])  # type: ignore[call-overload]
    descriptions = list(values["StatusDescriptions"])  # type: ignore[call-overload]
    if codes == [2]:
        codes, descriptions = [IN_SERVICE], ["In Service"]
    return {**values, "OperationalStatus": [*codes, MIGRATING], "StatusDescriptions": [*descriptions, reason]}
