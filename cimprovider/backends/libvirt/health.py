"""Whether the backend can reach libvirt, as `BackendHealth`.

The connection reports from libvirt's threads (a close callback, the
reconnection loop); the report is kept here so `health()` answers at once,
and a change of `healthy` becomes one `BackendHealthChanged`, handed to
`announce` (the backend's dispatcher publishes it in order with the domain
changes around it). Failed reconnection tries update the report quietly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cimprovider.schemas.events import BackendHealth, BackendHealthChanged


class HealthReport:
    def __init__(self, backend: str, announce: Callable[[BackendHealthChanged], None]) -> None:
        self._backend = backend
        self._announce = announce
        self._lock = threading.Lock()
        self._current = BackendHealth()

    @property
    def current(self) -> BackendHealth:
        return self._current

    def update(self, healthy: bool, detail: str, reconnect_attempts: int) -> bool:
        """Record what the connection says; True when `healthy` flipped."""
        with self._lock:
            flipped = healthy != self._current.healthy
            since = BackendHealth().since if flipped else self._current.since
            self._current = BackendHealth(healthy=healthy, detail=detail, since=since, reconnect_attempts=reconnect_attempts)
            if flipped:
                self._announce(BackendHealthChanged(backend=self._backend, health=self._current))
            return flipped
