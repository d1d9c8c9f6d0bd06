"""What sampling costs on a libvirt host: CPU of this process per sampling
interval (the one getAllDomainStats call for every domain, the samples, the
metering windows of every domain, every domain's health) and the wall time
of the bulk call, over whatever domains the host has. The connection is
read-only: nothing on the host changes.

    python bench/metrics_sampler_libvirt.py [uri] [intervals]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import libvirt

from cimprovider.backends.libvirt.statistics import all_counters
from cimprovider.events import EventBus
from cimprovider.metrics.health import HealthMonitor
from cimprovider.metrics.sampler import Sampler
from cimprovider.metrics.windows import MeteringWindows
from cimprovider.schemas.statistics import VmCounters


class ReadOnlyStatistics:
    """The libvirt backend's bulk reading, on a read-only connection."""

    def __init__(self, uri: str) -> None:
        self.events = EventBus()
        self.conn = libvirt.openReadOnly(uri)
        self.call_seconds: list[float] = []

    def vm_counters(self) -> list[VmCounters]:
        started = time.monotonic()
        counters = all_counters(self.conn, {})
        self.call_seconds.append(time.monotonic() - started)
        return counters

    def list_vms(self) -> list:  # the sampler's protocol check; never called
        return []


def main(uri: str, intervals: int) -> None:
    source = ReadOnlyStatistics(uri)
    with tempfile.TemporaryDirectory() as data:
        sampler = Sampler(source, 1.0)  # type: ignore[arg-type]
        windows = MeteringWindows(Path(data) / "metrics.sqlite3")
        health = HealthMonitor(source.events)
        sampler.listen(windows.on_samples)
        sampler.listen(health.on_samples)
        first = sampler.take()
        for s in first:
            windows.enable(s.vm_id, time.time())
        cpu = []
        for _ in range(intervals):
            time.sleep(0.2)  # counters move between readings
            started = time.process_time()
            sampler.take()
            cpu.append(time.process_time() - started)
        windows.close()
    print(f"{uri}: {len(first)} domains ({sum(s.power_state.value == 'running' for s in first)} running), {intervals} intervals")
    print(f"sampling interval: median {statistics.median(cpu) * 1000:.2f} ms CPU of this process (max {max(cpu) * 1000:.2f} ms)")
    print(f"getAllDomainStats: median {statistics.median(source.call_seconds) * 1000:.2f} ms wall")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "qemu:///system", int(sys.argv[2]) if len(sys.argv) > 2 else 20)
