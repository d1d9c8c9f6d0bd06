"""What one sampling interval says about a VM: rates from two readings of
its cumulative counters. Counters that went backwards (the guest restarted,
so the hypervisor started counting again) count from zero."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple
from uuid import UUID

from cimprovider.schemas.power import PowerState, VmCondition
from cimprovider.schemas.runtime import HeartbeatState
from cimprovider.schemas.statistics import DiskCounters, NicCounters, VmCounters

# The clock Msvm_Processor reports (MaxClockSpeed): Hyper-V meters CPU in MHz.
CLOCK_MHZ = 2400
# Hyper-V normalises disk operations to 8 KiB units ("normalized IOPS").
NORMALIZED_IO_BYTES = 8192
# What every sample without disks or adapters shares, rather than two
# empty dicts per VM and interval (a stopped VM has no rates).
_NO_RATES: Mapping = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class DiskRates:
    read_bytes: int  # during the interval
    write_bytes: int
    normalized_ios: int
    latency_ms: float  # mean time per request in the interval (0 with no requests)


@dataclass(frozen=True, slots=True)
class NicRates:
    received_bytes: int
    sent_bytes: int


class Reading(NamedTuple):
    """A VM's counters as the sampler keeps them until the next interval:
    a tuple is a fifth of the model's size, which with 10,000 VMs is some
    5 MB. The names are VmCounters' own, so either reads the same."""

    cpu_time_ns: int
    vcpus: int
    memory_mb: int
    disks: tuple[DiskCounters, ...]
    nics: tuple[NicCounters, ...]
    condition: VmCondition
    heartbeat: HeartbeatState

    @classmethod
    def of(cls, c: VmCounters) -> "Reading":
        return cls(c.cpu_time_ns, c.vcpus, c.memory_mb, c.disks, c.nics, c.condition, c.heartbeat)


@dataclass(frozen=True, slots=True)
class VmSample:
    vm_id: UUID
    power_state: PowerState
    at: float  # wall clock of the reading
    seconds: float  # the interval it covers (0 for the first reading)
    reading: Reading
    cpu_percent: float  # of the VM's own processors
    disks: Mapping[UUID, DiskRates] = field(default_factory=lambda: _NO_RATES)
    nics: Mapping[UUID, NicRates] = field(default_factory=lambda: _NO_RATES)

    @property
    def counters(self) -> VmCounters:
        return VmCounters.model_construct(vm_id=self.vm_id, power_state=self.power_state, **self.reading._asdict())

    @property
    def cpu_mhz(self) -> float:
        return self.cpu_percent / 100 * self.reading.vcpus * CLOCK_MHZ

    @property
    def memory_mb(self) -> int:
        return self.reading.memory_mb


def sample(now: float, current: VmCounters, previous: VmCounters | Reading | None, previous_at: float | None) -> VmSample:
    seconds = now - previous_at if previous is not None and previous_at is not None else 0.0
    if seconds <= 0 or previous is None:
        return VmSample(current.vm_id, current.power_state, now, 0.0, Reading.of(current), 0.0)
    busy = _delta(current.cpu_time_ns, previous.cpu_time_ns) / 1e9
    percent = min(100.0, max(0.0, busy / seconds / current.vcpus * 100))
    before_disks = {d.drive_id: d for d in previous.disks}
    before_nics = {n.adapter_id: n for n in previous.nics}
    disks = {d.drive_id: _disk_rates(d, before_disks.get(d.drive_id)) for d in current.disks if d.drive_id is not None}
    nics = {n.adapter_id: _nic_rates(n, before_nics.get(n.adapter_id)) for n in current.nics if n.adapter_id is not None}
    return VmSample(
        current.vm_id,
        current.power_state,
        now,
        seconds,
        Reading.of(current),
        percent,
        disks or _NO_RATES,
        nics or _NO_RATES,
    )


def _delta(now: int, before: int) -> int:
    return now - before if now >= before else now


def _disk_rates(now: DiskCounters, before: DiskCounters | None) -> DiskRates:
    before = before or DiskCounters()
    read = _delta(now.read_bytes, before.read_bytes)
    written = _delta(now.write_bytes, before.write_bytes)
    requests = _delta(now.read_requests, before.read_requests) + _delta(now.write_requests, before.write_requests)
    waited = _delta(now.request_time_ns, before.request_time_ns)
    normalized = -(-(read + written) // NORMALIZED_IO_BYTES)
    return DiskRates(read, written, normalized, waited / requests / 1e6 if requests else 0.0)


def _nic_rates(now: NicCounters, before: NicCounters | None) -> NicRates:
    before = before or NicCounters()
    return NicRates(_delta(now.received_bytes, before.received_bytes), _delta(now.sent_bytes, before.sent_bytes))
