"""What each sampling interval says about health, as Hyper-V would show
it: a guest the hypervisor stopped by an error, a guest whose heartbeat
is lost, a disk file that vanished, a disk on a full storage root (for
VMs); an unreachable hypervisor or a full storage root (for the host).
Each problem is a Finding; an element's health is the worst of them with
every description, so one alert names all that is wrong."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from cimprovider.metrics.samples import VmSample
from cimprovider.schemas.events import BackendHealth, VmHealth
from cimprovider.schemas.power import Health, PowerState
from cimprovider.schemas.runtime import HeartbeatState

HEALTHY = VmHealth()
OK, DEGRADED, MAJOR_FAILURE, CRITICAL_FAILURE = 5, 10, 20, 25
# OperationalStatus codes.
STATUS_DEGRADED, STATUS_ERROR, STATUS_LOST_COMMUNICATION = 3, 6, 13
# DMTF ProbableCause codes (CIM_AlertIndication's ValueMap).
LOSS_OF_SIGNAL, ABNORMALLY_TERMINATED, STORAGE_CAPACITY = 30, 48, 50
UNDERLYING_RESOURCE_UNAVAILABLE, ELEMENT_MISSING, PREVIOUS_ALERT_CLEARED = 57, 73, 59
MB = 1024 * 1024
GUEST_UP = frozenset({PowerState.RUNNING, PowerState.PAUSED, PowerState.STOPPING, PowerState.SAVING, PowerState.PAUSING})
# The hypervisor's own verdict on a VM, as the model renders vm.condition.
_CONDITION = {
    Health.DEGRADED: (MAJOR_FAILURE, STATUS_DEGRADED, ABNORMALLY_TERMINATED),
    Health.CRITICAL: (CRITICAL_FAILURE, STATUS_ERROR, ABNORMALLY_TERMINATED),
    Health.LOST_COMMUNICATION: (MAJOR_FAILURE, STATUS_LOST_COMMUNICATION, UNDERLYING_RESOURCE_UNAVAILABLE),
}


@dataclass(frozen=True)
class Finding:
    health_state: int
    operational_status: int
    probable_cause: int
    description: str


@dataclass(frozen=True)
class FullRoot:
    root: Path
    free_mb: int

    def holds(self, path: str) -> bool:
        return Path(path).is_relative_to(self.root)


def health_of(findings: list[Finding]) -> VmHealth:
    if not findings:
        return HEALTHY
    ordered = sorted(findings, key=lambda f: -f.health_state)
    statuses = tuple(dict.fromkeys(f.operational_status for f in ordered))
    return VmHealth(health_state=ordered[0].health_state, operational_status=statuses,
                    descriptions=tuple(f.description for f in ordered), probable_cause=ordered[0].probable_cause)


def full_roots(roots: list[Path], minimum_free_mb: int) -> list[FullRoot]:
    found = []
    for root in roots:
        try:
            free = shutil.disk_usage(root).free // MB
        except OSError:
            continue  # a root not created yet holds no disks
        if free < minimum_free_mb:
            found.append(FullRoot(root, free))
    return found


def vm_findings(s: VmSample, full: list[FullRoot]) -> list[Finding]:
    found = []
    condition = s.reading.condition
    if condition.health is not Health.OK:
        health_state, status, cause = _CONDITION[condition.health]
        # Worded as the VM's own instance words it before the first interval,
        # so a client reading the system and its summary sees one reason.
        found.append(Finding(health_state, status, cause, condition.detail or condition.health.value))
    if s.power_state not in GUEST_UP:
        return found
    if s.reading.heartbeat is HeartbeatState.LOST_COMMUNICATION:
        found.append(Finding(MAJOR_FAILURE, STATUS_LOST_COMMUNICATION, LOSS_OF_SIGNAL,
                             "The guest's heartbeat is lost: the guest does not answer its integration services"))
    for disk in s.reading.disks:
        if not os.path.isabs(disk.path):
            continue  # not this host's path (a simulated VM's C:\...)
        if not os.path.exists(disk.path):
            found.append(Finding(MAJOR_FAILURE, STATUS_ERROR, ELEMENT_MISSING, f"The virtual hard disk {disk.path} is missing"))
            continue
        root = next((r for r in full if r.holds(disk.path)), None)
        if root is not None:
            found.append(Finding(DEGRADED, STATUS_DEGRADED, STORAGE_CAPACITY,
                                 f"The virtual hard disk {disk.path} is on storage root {root.root}, which is full ({root.free_mb} MB free)"))
    return found


def heartbeat_findings(s: VmSample) -> list[Finding]:
    """The heartbeat component's own health."""
    if s.power_state in GUEST_UP and s.reading.heartbeat is HeartbeatState.LOST_COMMUNICATION:
        return [Finding(MAJOR_FAILURE, STATUS_LOST_COMMUNICATION, LOSS_OF_SIGNAL, "Lost communication with the guest's heartbeat")]
    return []


def host_findings(backend: BackendHealth | None, full: list[FullRoot], minimum_free_mb: int) -> list[Finding]:
    found = []
    if backend is not None and not backend.healthy:
        found.append(Finding(MAJOR_FAILURE, STATUS_LOST_COMMUNICATION, UNDERLYING_RESOURCE_UNAVAILABLE,
                             f"The hypervisor is unreachable: {backend.detail}"))
    for root in full:
        found.append(Finding(DEGRADED, STATUS_DEGRADED, STORAGE_CAPACITY,
                             f"Storage root {root.root} is full: {root.free_mb} MB free, below the {minimum_free_mb} MB minimum"))
    return found
