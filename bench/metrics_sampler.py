"""What sampling costs: CPU per sampling interval (one bulk reading of
every VM, the metering windows updated and stored, every VM's and the
host's health assessed) and per /metrics rendering, at N simulated VMs,
all running and metered.

    python bench/metrics_sampler.py [vms] [intervals]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from cimprovider.backends import change_power_state
from cimprovider.backends.simulated import SimulatedBackend
from cimprovider.metrics.exposition import ServerFigures
from cimprovider.metrics.service import Metrics
from cimprovider.schemas import PowerRequest, ServerConfig, SystemSettings


def cpu_of(work) -> float:  # type: ignore[no-untyped-def]
    started = time.process_time()
    work()
    return time.process_time() - started


def main(vms: int, intervals: int) -> None:
    with tempfile.TemporaryDirectory() as data:
        backend = SimulatedBackend(ServerConfig(data_dir=Path(data), transition_seconds=0))
        figures = ServerFigures(lambda: 0, lambda: 0, lambda: 0, lambda: 0, dict)
        config = ServerConfig(data_dir=Path(data), transition_seconds=0)
        metrics = Metrics(backend, 15.0, Path(data) / "metrics.sqlite3", figures, config.storage_roots, config.storage_minimum_free_mb)
        try:
            def interval() -> None:  # what the sampler thread does each interval: the reading, then the host's health
                metrics.sampler.take()
                metrics.sampler.after_interval()

            now = time.time()
            for n in range(vms):
                vm = backend.define_vm(SystemSettings(name=f"bench-{n}"))
                change_power_state(backend, vm.id, PowerRequest.START)
                metrics.windows.enable(vm.id, now)
            interval()
            readings = [cpu_of(interval) for _ in range(intervals)]
            renders = [cpu_of(lambda: metrics.exposition.render(None)) for _ in range(intervals)]
            size = len(metrics.exposition.render(None)[0])
        finally:
            metrics.close()
            backend.close()
    print(f"{vms} running, metered VMs, {intervals} intervals")
    print(f"sampling interval: median {statistics.median(readings) * 1000:.1f} ms CPU "
          f"(max {max(readings) * 1000:.1f} ms), {statistics.median(readings) / vms * 1e6:.0f} µs per VM")
    print(f"/metrics rendering: median {statistics.median(renders) * 1000:.1f} ms CPU, {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, int(sys.argv[2]) if len(sys.argv) > 2 else 10)
