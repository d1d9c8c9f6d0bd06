"""Tier 2: the sampler over real QEMU. libvirt's bulk statistics give a
booting guest's CPU time, its balloon and its NIC's traffic, mapped to the
model's adapter; the sampler turns them into a load over the interval.

The guest's NIC is on a network of a libvirtd in a network namespace this
test creates (netns_host.py): its address exists only there."""

from __future__ import annotations

import time
from uuid import UUID

from cimprovider.backends import StatisticsBackend, change_power_state
from cimprovider.metrics.sampler import Sampler
from cimprovider.schemas import PowerRequest
from netns_host import NamespacedHost, machine_interfaces, namespaced_host  # noqa: F401 (fixture)
from netns_libvirtd import namespaced  # noqa: F401 (fixture)
from qemu_host import wait_for_console

ADDRESS = "192.0.2.10"  # TEST-NET-1, only inside the test's namespace


def test_a_booting_guest_is_sampled_from_bulk_statistics(namespaced_host: NamespacedHost) -> None:  # noqa: F811
    host = namespaced_host
    domain = host.define_guest("sampled", address=f"{ADDRESS}/24")
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
    outside = machine_interfaces()
    assert host.bridge in host.inside().names and host.bridge not in outside.names and ADDRESS not in outside.addresses
