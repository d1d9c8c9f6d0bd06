"""The statistics contract: one bulk reading lists every VM, off ones with
zero counters, running ones with what their guest used; counters grow."""

from __future__ import annotations

import time

import pytest

from cimprovider.backends import Backend, StatisticsBackend
from cimprovider.schemas import PowerState

from backend_scenarios import new_vm, vm_in_state


def test_every_vm_is_listed_with_its_state(backend: Backend) -> None:
    assert isinstance(backend, StatisticsBackend)
    off = new_vm(backend, "counters-off").id
    running = vm_in_state(backend, PowerState.RUNNING, "counters-on")
    counters = {c.vm_id: c for c in backend.vm_counters()}
    assert counters[off].power_state is PowerState.OFF
    assert (counters[off].cpu_time_ns, counters[off].memory_mb, counters[off].disks) == (0, 0, ())
    assert counters[running].power_state is PowerState.RUNNING
    assert counters[running].vcpus == backend.get_vm(running).processor.count


# The libvirt test driver's guest does no work (its statistics are the
# state alone); tier 2 meters a real QEMU guest.
@pytest.mark.parametrize("harness", ["simulated"], indirect=True)
def test_a_running_guests_counters_grow(harness) -> None:
    backend = harness.open()
    vm_id = vm_in_state(backend, PowerState.RUNNING, "counters-grow")
    first = next(c for c in backend.vm_counters() if c.vm_id == vm_id)
    deadline = time.monotonic() + 60
    while (later := next(c for c in backend.vm_counters() if c.vm_id == vm_id)).cpu_time_ns <= first.cpu_time_ns:
        assert time.monotonic() < deadline, "CPU time did not grow"
        time.sleep(0.05)
    assert later.memory_mb > 0
