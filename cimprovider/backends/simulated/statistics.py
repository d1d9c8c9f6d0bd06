"""Cumulative counters of a simulated guest, consistent with its runtime
figures: CPU time is the integral of the processor load the runtime module
reports, and disks and network adapters move data at steady per-VM rates.
A pure function of the VM, when it started and the clock, like the load."""

from __future__ import annotations

import math
from uuid import UUID

from cimprovider.backends.simulated.runtime import guest_heartbeat, memory_in_use
from cimprovider.schemas.devices import Drive, DriveType
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.statistics import DiskCounters, NicCounters, VmCounters
from cimprovider.schemas.vm import VirtualMachine

_COUNTING = {PowerState.RUNNING, PowerState.PAUSED, PowerState.STOPPING, PowerState.SAVING, PowerState.PAUSING}
# Simulated disks move data in 8 KiB requests, each taking a few milliseconds.
REQUEST_BYTES = 8192


def vm_counters(vm: VirtualMachine, started_at: float | None, now: float) -> VmCounters:
    if started_at is None or vm.power_state not in _COUNTING:
        return VmCounters(vm_id=vm.id, power_state=vm.power_state, vcpus=vm.processor.count, condition=vm.condition)
    seed = vm.id.int
    elapsed = max(0.0, now - started_at)
    busy_seconds = load_integral(seed, started_at, max(started_at, now)) / 100 * vm.processor.count
    return VmCounters(
        vm_id=vm.id,
        power_state=vm.power_state,
        cpu_time_ns=int(busy_seconds * 1e9),
        vcpus=vm.processor.count,
        memory_mb=memory_in_use(vm, seed, now),
        disks=tuple(_disk(drive.id, drive.media.path, seed + n, elapsed) for n, drive in enumerate(_disks(vm))),
        nics=tuple(_nic(nic.id, seed + n, elapsed) for n, nic in enumerate(vm.network_adapters) if nic.connected),
        condition=vm.condition,
        heartbeat=guest_heartbeat(vm, started_at),
    )


def load_integral(seed: int, start: float, end: float) -> float:
    """Percent-seconds of `runtime.processor_load` between start and end
    (its waves integrated in closed form, so any two readings agree)."""

    def primitive(t: float) -> float:
        base = 30 + seed % 20
        return (
            base * t
            - 15 * 7 * math.cos(t / 7 + seed % 100)
            - 8 * 1.3 * math.cos(t / 1.3 + seed % 17)
            - 3 / 3 * math.cos(t * 3 + seed % 11)
        )

    return max(0.0, primitive(end) - primitive(start))


def _disks(vm: VirtualMachine) -> list[Drive]:
    return [d for d in vm.drives if d.drive_type is DriveType.DISK and d.media is not None]


def _disk(drive_id: UUID, path: str, seed: int, elapsed: float) -> DiskCounters:
    # Megabytes a second, so that metering (which counts in MB) moves within seconds.
    read = int((seed % 7 + 1) * 1024 * 1024 * elapsed)
    written = int((seed % 5 + 1) * 512 * 1024 * elapsed)
    requests = (read + written) // REQUEST_BYTES
    return DiskCounters(
        drive_id=drive_id,
        path=path,
        read_bytes=read,
        write_bytes=written,
        read_requests=read // REQUEST_BYTES,
        write_requests=written // REQUEST_BYTES,
        request_time_ns=requests * (1 + seed % 4) * 1_000_000,
    )


def _nic(adapter_id: UUID, seed: int, elapsed: float) -> NicCounters:
    received = int((seed % 11 + 1) * 256 * 1024 * elapsed)
    return NicCounters(adapter_id=adapter_id, received_bytes=received, sent_bytes=received // 2)
