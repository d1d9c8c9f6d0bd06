"""Tier 2: the sampler over real QEMU. libvirt's bulk statistics give a
booting guest's CPU time, its balloon and its NIC's traffic, mapped to the
model's adapter; the sampler turns them into a load over the interval."""

from __future__ import annotations

import time
from uuid import UUID

from cimprovider.backends import StatisticsBackend, change_power_state
from cimprovider.metrics.sampler import Sampler
from cimprovider.schemas import PowerRequest
from qemu_host import Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)


def test_a_booting_guest_is_sampled_from_bulk_statistics(host: Host) -> None:
    domain = host.define_guest("sampled", address="192.0.2.10/24")
    vm_id = UUID(domain.UUIDString())
    backend = host.backend
    assert isinstance(backend, StatisticsBackend)
    sampler = Sampler(backend, 0.5)
    change_power_state(backend, vm_id, PowerRequest.START)
    sampler.take()
    deadline = time.monotonic() + 120
    while not sampler.load_history(vm_id) or max(sampler.load_history(vm_id)) == 0:
        assert time.monotonic() < deadline, "the booting guest never showed a processor load"
        time.sleep(0.5)
        sampler.take()
    wait_for_console(host.console(domain), r"guest: ready")
    sample = next(s for s in sampler.take() if s.vm_id == vm_id)
    assert sample.counters.cpu_time_ns > 0 and sample.counters.vcpus == 1
    assert 200 <= sample.memory_mb <= 256  # the balloon of a 256 MiB guest
    adapter = backend.get_vm(vm_id).network_adapters[0]
    assert [n.adapter_id for n in sample.counters.nics] == [adapter.id]
