"""Samples from two readings, the sampler over the simulated backend (one
bulk reading per interval) and libvirt's bulk statistics as QEMU reports
them."""

from __future__ import annotations

from uuid import uuid4

from cimprovider.backends.libvirt.statistics import domain_counters
from cimprovider.backends.simulated import SimulatedBackend
from cimprovider.backends.simulated.statistics import load_integral
from cimprovider.backends import change_power_state
from cimprovider.metrics.sampler import Sampler
from cimprovider.metrics.samples import CLOCK_MHZ, sample
from cimprovider.schemas import PowerRequest, PowerState, ServerConfig, SystemSettings
from cimprovider.schemas.statistics import DiskCounters, NicCounters, VmCounters
from cimprovider.schemas.vm import VirtualMachine

DRIVE, NIC = uuid4(), uuid4()


def counters(cpu_s: float, read: int, requests: int, waited_ms: int, received: int) -> VmCounters:
    return VmCounters(
        vm_id=DRIVE, power_state=PowerState.RUNNING, cpu_time_ns=int(cpu_s * 1e9), vcpus=2, memory_mb=1024,
        disks=(DiskCounters(drive_id=DRIVE, read_bytes=read, read_requests=requests, request_time_ns=waited_ms * 10**6),),
        nics=(NicCounters(adapter_id=NIC, received_bytes=received),),
    )


def test_rates_over_an_interval() -> None:
    s = sample(110.0, counters(15, 81920, 10, 50, 3000), counters(10, 0, 0, 0, 1000), 100.0)
    assert s.seconds == 10
    assert s.cpu_percent == 25  # 5 s of CPU over 10 s on 2 processors
    assert s.cpu_mhz == 0.25 * 2 * CLOCK_MHZ
    disk = s.disks[DRIVE]
    assert (disk.read_bytes, disk.normalized_ios, disk.latency_ms) == (81920, 10, 5.0)
    assert s.nics[NIC].received_bytes == 2000


def test_counters_that_went_back_count_from_zero() -> None:
    # The guest restarted between readings: the hypervisor counts afresh.
    s = sample(110.0, counters(1, 8192, 1, 2, 10), counters(500, 10**9, 10**5, 10**6, 10**6), 100.0)
    assert s.cpu_percent == 5
    assert s.disks[DRIVE].read_bytes == 8192 and s.nics[NIC].received_bytes == 10


def test_the_first_reading_has_no_rates() -> None:
    s = sample(100.0, counters(10, 100, 1, 1, 1), None, None)
    assert (s.seconds, s.cpu_percent, s.disks) == (0.0, 0.0, {})


def test_the_sampler_reads_the_simulated_load(tmp_path) -> None:
    now = [1_000_000.0]
    backend = SimulatedBackend(ServerConfig(data_dir=tmp_path, transition_seconds=0), clock=lambda: now[0])
    try:
        vm = backend.define_vm(SystemSettings(name="sampled"))
        idle = backend.define_vm(SystemSettings(name="idle"))
        change_power_state(backend, vm.id, PowerRequest.START)
        sampler = Sampler(backend, 1.0, clock=lambda: now[0])
        sampler.take()
        now[0] += 30
        samples = {s.vm_id: s for s in sampler.take()}
        expected = load_integral(vm.id.int, now[0] - 30, now[0]) / 30
        assert abs(samples[vm.id].cpu_percent - expected) < 0.01
        assert samples[vm.id].memory_mb == backend.get_runtime(vm.id).memory_in_use_mb
        assert samples[idle.id].power_state is PowerState.OFF and samples[idle.id].cpu_percent == 0
        assert sampler.readings == 2
    finally:
        backend.close()


def test_libvirt_bulk_statistics_as_qemu_reports_them() -> None:
    vm = VirtualMachine(id=uuid4(), name="kvm-guest", power_state=PowerState.RUNNING)
    stats = {
        "state.state": 1, "cpu.time": 7_500_000_000, "vcpu.current": 2, "balloon.current": 2097152,
        "block.count": 2, "block.0.name": "hdc", "block.0.path": "/isos/install.iso",
        "block.1.name": "sda", "block.1.path": "/vms/disk.qcow2", "block.1.rd.bytes": 4096, "block.1.wr.bytes": 8192,
        "block.1.rd.reqs": 1, "block.1.wr.reqs": 2, "block.1.rd.times": 1000, "block.1.wr.times": 2000,
        "net.count": 1, "net.0.name": "vnet0", "net.0.rx.bytes": 100, "net.0.tx.bytes": 50,
    }
    c = domain_counters(vm.id, stats, None)
    assert (c.power_state, c.cpu_time_ns, c.vcpus, c.memory_mb) == (PowerState.RUNNING, 7_500_000_000, 2, 2048)
    assert c.disks == ()  # no model to tell a disk from the ISO
    assert [(n.received_bytes, n.sent_bytes) for n in c.nics] == [(100, 50)]
