"""VM health from the samples: at each interval, every running VM's disk
images are checked where its counters name them; a disk file that is gone
from this host makes the VM a major failure (HealthState 20, status Error)
until it is back. Each change is published on the bus, so that models and
indications follow it. Paths that are not this host's (a simulated VM's
`C:\\…`) are not checked."""

from __future__ import annotations

import os
import threading
from uuid import UUID

from cimprovider.events import EventBus
from cimprovider.metrics.samples import VmSample
from cimprovider.schemas.events import VmHealth, VmHealthChanged
from cimprovider.schemas.power import PowerState

HEALTHY = VmHealth()
MAJOR_FAILURE, ERROR = 20, 6
_GUEST_UP = {PowerState.RUNNING, PowerState.PAUSED, PowerState.STOPPING, PowerState.SAVING, PowerState.PAUSING}


def assess(s: VmSample) -> VmHealth:
    if s.power_state not in _GUEST_UP:
        return HEALTHY
    missing = [d.path for d in s.counters.disks if os.path.isabs(d.path) and not os.path.exists(d.path)]
    if not missing:
        return HEALTHY
    return VmHealth(
        health_state=MAJOR_FAILURE,
        operational_status=(ERROR,),
        descriptions=tuple(f"The virtual hard disk {path} is missing" for path in missing),
    )


class HealthMonitor:
    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self._lock = threading.Lock()
        self._health: dict[UUID, VmHealth] = {}

    def health(self, vm_id: UUID) -> VmHealth:
        with self._lock:
            return self._health.get(vm_id, HEALTHY)

    def on_samples(self, samples: list[VmSample]) -> None:
        changes = []
        with self._lock:
            for s in samples:
                now, before = assess(s), self._health.get(s.vm_id, HEALTHY)
                if now != before:
                    changes.append(VmHealthChanged(vm_id=s.vm_id, health=now, previous=before))
                if now == HEALTHY:
                    self._health.pop(s.vm_id, None)
                else:
                    self._health[s.vm_id] = now
        for change in changes:
            self.bus.publish(change)
