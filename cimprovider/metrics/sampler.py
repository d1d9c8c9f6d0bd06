"""The sampler: once per interval, one bulk reading of every VM's counters
from the backend, turned into per-VM samples that the metering windows,
the Prometheus exposition and the summary information all read. A backend
without statistics still gets state samples (zero figures)."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from uuid import UUID

from cimprovider.backends import Backend, StatisticsBackend
from cimprovider.metrics.samples import VmSample, sample
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.statistics import VmCounters

log = logging.getLogger("cimprovider.metrics")

SampleListener = Callable[[list[VmSample]], None]
# Hyper-V's ProcessorLoadHistory holds the last 100 readings.
LOAD_HISTORY = 100
_GUEST_UP = {PowerState.RUNNING, PowerState.PAUSED, PowerState.STOPPING, PowerState.SAVING, PowerState.PAUSING}


class Sampler:
    def __init__(self, backend: Backend, interval_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self.backend = backend
        self.interval_seconds = interval_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: dict[UUID, VmSample] = {}
        self._loads: dict[UUID, deque[int]] = {}
        self._listeners: list[SampleListener] = []
        self._after_each: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.readings = 0  # how many intervals were sampled
        self.failures = 0
        self.last_reading_seconds = 0.0  # CPU the last reading cost

    def listen(self, listener: SampleListener) -> None:
        self._listeners.append(listener)

    def after_each(self, callback: Callable[[], None]) -> None:
        """Called after every interval, whether or not the reading worked."""
        self._after_each.append(callback)

    def latest(self) -> dict[UUID, VmSample]:
        with self._lock:
            return dict(self._latest)

    def load_history(self, vm_id: UUID) -> list[int]:
        """The VM's processor load (percent) at each interval of its current
        run, oldest first; empty before the first interval or when off."""
        with self._lock:
            return list(self._loads.get(vm_id, ()))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="metrics-sampler", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.take()
            except Exception:  # noqa: BLE001 - an away hypervisor must not end sampling
                self.failures += 1
                log.warning("sampling the VMs' statistics failed", exc_info=True)
            self.after_interval()
            self._stop.wait(self.interval_seconds)

    def after_interval(self) -> None:
        for callback in self._after_each:
            try:
                callback()
            except Exception:  # noqa: BLE001 - one failing watcher must not stop sampling
                log.warning("a check after sampling failed", exc_info=True)

    def take(self) -> list[VmSample]:
        """One reading of every VM: one bulk call to the backend."""
        started = time.process_time()
        now = self._clock()
        counters = self._read_counters()
        with self._lock:
            previous = self._latest
            samples = [self._next(now, c, previous.get(c.vm_id)) for c in counters]
            self._latest = {s.vm_id: s for s in samples}
            self._record_loads(samples)
        for listener in self._listeners:
            listener(samples)
        self.readings += 1
        self.last_reading_seconds = time.process_time() - started
        return samples

    def _record_loads(self, samples: list[VmSample]) -> None:
        for s in samples:
            if s.power_state not in _GUEST_UP:
                self._loads.pop(s.vm_id, None)
            elif s.seconds > 0:
                self._loads.setdefault(s.vm_id, deque(maxlen=LOAD_HISTORY)).append(round(s.cpu_percent))
        for gone in set(self._loads) - set(self._latest):
            del self._loads[gone]

    @staticmethod
    def _next(now: float, counters: VmCounters, before: VmSample | None) -> VmSample:
        if before is None:
            return sample(now, counters, None, None)
        return sample(now, counters, before.reading, before.at)

    def _read_counters(self) -> list[VmCounters]:
        if isinstance(self.backend, StatisticsBackend):
            return self.backend.vm_counters()
        return [VmCounters(vm_id=vm.id, power_state=vm.power_state, vcpus=vm.processor.count)
                for vm in self.backend.list_vms()]
