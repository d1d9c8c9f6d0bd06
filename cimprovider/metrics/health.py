"""Health from the samples: at each interval the host, every VM and every
heartbeat component is assessed (conditions.py says what counts); each
change is published on the bus, so that models and alerts follow it,
including the change back to healthy. The host is assessed even when the
reading failed: an unreachable hypervisor is exactly when it fails."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from cimprovider.backends import Backend, HealthReporting
from cimprovider.events import EventBus
from cimprovider.metrics.conditions import (
    HEALTHY,
    FullRoot,
    full_roots,
    health_of,
    heartbeat_findings,
    host_findings,
    vm_findings,
)
from cimprovider.metrics.samples import VmSample
from cimprovider.schemas.events import (
    BackendHealth,
    BackendHealthChanged,
    ComponentHealthChanged,
    EventBase,
    HostHealthChanged,
    VmHealth,
    VmHealthChanged,
)
from cimprovider.schemas.integration import IntegrationServiceKind

HEARTBEAT = IntegrationServiceKind.HEARTBEAT


class HealthMonitor:
    def __init__(self, bus: EventBus, backend: Backend | None = None, storage_roots: list[Path] | None = None,
                 minimum_free_mb: int = 0) -> None:
        self.bus = bus
        self.backend = backend
        self.storage_roots = list(storage_roots or [])
        self.minimum_free_mb = minimum_free_mb
        self._lock = threading.RLock()
        self._health: dict[UUID, VmHealth] = {}
        self._heartbeats: dict[UUID, VmHealth] = {}
        self._host = HEALTHY

    def health(self, vm_id: UUID) -> VmHealth:
        with self._lock:
            return self._health.get(vm_id, HEALTHY)

    def heartbeat_health(self, vm_id: UUID) -> VmHealth:
        with self._lock:
            return self._heartbeats.get(vm_id, HEALTHY)

    def host_health(self) -> VmHealth:
        with self._lock:
            return self._host

    def unhealthy_vms(self) -> dict[UUID, VmHealth]:
        with self._lock:
            return dict(self._health)

    def on_samples(self, samples: list[VmSample]) -> None:
        full = self._full_roots()
        changes: list[EventBase] = []
        with self._lock:
            for s in samples:
                vm = health_of(vm_findings(s, full))
                changes += _moved(self._health, s.vm_id, vm, lambda before, now=vm, s=s: VmHealthChanged(
                    vm_id=s.vm_id, health=now, previous=before))
                beat = health_of(heartbeat_findings(s))
                changes += _moved(self._heartbeats, s.vm_id, beat, lambda before, now=beat, s=s: ComponentHealthChanged(
                    vm_id=s.vm_id, component=HEARTBEAT, health=now, previous=before))
            present = {s.vm_id for s in samples}
            for table in (self._health, self._heartbeats):
                for gone in set(table) - present:
                    del table[gone]  # a VM that is gone is neither sick nor healed
        for change in changes:
            self.bus.publish(change)

    def on_interval(self) -> None:
        """The host, after every attempt to read the VMs."""
        self.assess_host(self.backend.health() if isinstance(self.backend, HealthReporting) else None)

    def on_backend_health(self, event: EventBase) -> None:
        """The backend lost or regained its hypervisor: the host's health
        changes now, not at the next interval (a reconnection may be quicker)."""
        if isinstance(event, BackendHealthChanged):
            self.assess_host(event.health)

    def assess_host(self, backend: BackendHealth | None) -> None:
        now = health_of(host_findings(backend, self._full_roots(), self.minimum_free_mb))
        with self._lock:
            before, self._host = self._host, now
            if now != before:  # published under the lock, so alerts come in the order of the changes
                self.bus.publish(HostHealthChanged(health=now, previous=before))

    def _full_roots(self) -> list[FullRoot]:
        return full_roots(self.storage_roots, self.minimum_free_mb)


def _moved(table: dict[UUID, VmHealth], vm_id: UUID, now: VmHealth, change: Callable[[VmHealth], EventBase]) -> list[EventBase]:
    before = table.get(vm_id, HEALTHY)
    if now == HEALTHY:
        table.pop(vm_id, None)
    else:
        table[vm_id] = now
    return [change(before)] if now != before else []
