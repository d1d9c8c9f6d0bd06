"""The metrics part assembled: a sampler over the backend, the metering
windows it feeds, and the exposition that reads both."""

from __future__ import annotations

from pathlib import Path

from cimprovider.backends import Backend
from cimprovider.metrics.exposition import Exposition, ServerFigures
from cimprovider.metrics.health import HealthMonitor
from cimprovider.metrics.sampler import Sampler
from cimprovider.metrics.windows import MeteringWindows
from cimprovider.schemas.events import BackendHealthChanged, EventBase, VmDestroyed


class Metrics:
    def __init__(self, backend: Backend, interval_seconds: float, windows_path: Path, figures: ServerFigures,
                 storage_roots: list[Path] | None = None, minimum_free_mb: int = 0) -> None:
        self.backend = backend
        self.sampler = Sampler(backend, interval_seconds)
        self.windows = MeteringWindows(windows_path)
        self.sampler.listen(self.windows.on_samples)
        self.health = HealthMonitor(backend.events, backend, storage_roots, minimum_free_mb)
        self.sampler.listen(self.health.on_samples)
        self.sampler.after_each(self.health.on_interval)
        self._backend_health = backend.events.subscribe(self.health.on_backend_health, (BackendHealthChanged,))
        self.exposition = Exposition(backend, self.sampler, figures, storage_roots)
        # A VM that is gone is metered no more (Hyper-V drops its figures with it).
        self._destroyed = backend.events.subscribe(self._forget, (VmDestroyed,))

    def _forget(self, event: EventBase) -> None:
        if isinstance(event, VmDestroyed):
            self.windows.disable(event.vm.id)

    def start(self) -> None:
        self.sampler.start()

    def close(self) -> None:
        self._destroyed.close()
        self._backend_health.close()
        self.sampler.close()
        self.windows.close()
