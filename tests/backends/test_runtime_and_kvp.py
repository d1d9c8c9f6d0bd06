"""Runtime figures and key-value pairs as a client reads them."""

from __future__ import annotations

import time

import pytest

from backend_scenarios import new_vm, vm_in_state
from conftest import BackendHarness
from tests.support.waiting import wait_until
from cimprovider.backends import Backend, InvalidParameterError, NotFoundError, change_power_state
from cimprovider.schemas import (
    INTRINSIC_KVP_NAMES,
    HeartbeatState,
    IntegrationServiceKind,
    IntegrationServiceState,
    KvpChanged,
    KvpItem,
    KvpSource,
    PowerRequest,
    PowerState,
)


def test_figures_move_while_running_and_stop_when_off(harness: BackendHarness, backend: Backend) -> None:
    vm_id = vm_in_state(backend, PowerState.RUNNING)
    first = backend.get_runtime(vm_id)
    samples = []

    def moved() -> bool:
        samples.append(backend.get_runtime(vm_id))
        loads = {s.processor_load_percent for s in [first, *samples]}
        return samples[-1].uptime_ms >= first.uptime_ms + 900 and (len(loads) > 1 or not harness.guest_load_moves)

    wait_until(moved, "the uptime 0.9 s on (and the processor load changing)", interval=0.1)
    assert first.heartbeat is HeartbeatState.OK
    assert all(0 <= s.processor_load_percent <= 100 for s in samples)
    assert [s.uptime_ms for s in samples] == sorted(s.uptime_ms for s in samples)
    assert samples[-1].memory_in_use_mb > 0
    assert first.integration_services[IntegrationServiceKind.SHUTDOWN] is IntegrationServiceState.OK

    change_power_state(backend, vm_id, PowerRequest.STOP)
    off = backend.get_runtime(vm_id)
    assert (off.uptime_ms, off.processor_load_percent, off.memory_in_use_mb) == (0, 0, 0)
    assert off.integration_services == {}
    assert off.guest_kvp_items == ()
    assert off.heartbeat is not HeartbeatState.OK


def test_reset_restarts_the_uptime(backend: Backend) -> None:
    vm_id = vm_in_state(backend, PowerState.RUNNING)
    wait_until(lambda: backend.get_runtime(vm_id).uptime_ms >= 100, "100 ms of uptime")
    asked = time.monotonic()
    change_power_state(backend, vm_id, PowerRequest.RESET)
    after = backend.get_runtime(vm_id).uptime_ms
    # Counted from the reset: no more than the time since it was asked for,
    # which an uptime still counting from the start (100 ms ahead) exceeds.
    assert after <= (time.monotonic() - asked) * 1000 + 1


def test_a_paused_guest_reports_a_paused_heartbeat(backend: Backend) -> None:
    vm_id = vm_in_state(backend, PowerState.PAUSED)
    figures = backend.get_runtime(vm_id)
    assert figures.heartbeat is HeartbeatState.PAUSED
    assert figures.processor_load_percent == 0


def test_intrinsic_items_while_running(harness: BackendHarness, backend: Backend) -> None:
    vm_id = vm_in_state(backend, PowerState.RUNNING, name="web01")
    items = {item.name: item for item in backend.get_runtime(vm_id).guest_kvp_items}
    if not harness.guest_reports_names:
        # Only what the guest reports, never made up: here its addresses.
        assert "NetworkAddressIPv4" in items and set(items) <= set(INTRINSIC_KVP_NAMES)
        assert all(item.source is KvpSource.INTRINSIC for item in items.values())
        return
    assert set(INTRINSIC_KVP_NAMES) <= set(items)
    assert all(item.source is KvpSource.INTRINSIC for item in items.values())
    assert items["FullyQualifiedDomainName"].data.startswith("web01")


def test_host_kvp_items_add_modify_remove(backend: Backend) -> None:
    vm = new_vm(backend)
    events = backend.events.subscribe_queue(kinds=[KvpChanged])
    backend.add_kvp_items(vm.id, [KvpItem(name="role", data="web"), KvpItem(name="tier", data="1")])
    with pytest.raises(InvalidParameterError) as caught:
        backend.add_kvp_items(vm.id, [KvpItem(name="role", data="db")])
    assert caught.value.field == "name"
    backend.modify_kvp_items(vm.id, [KvpItem(name="role", data="db")])
    with pytest.raises(NotFoundError):
        backend.modify_kvp_items(vm.id, [KvpItem(name="absent")])
    backend.remove_kvp_items(vm.id, ["tier"])
    with pytest.raises(NotFoundError):
        backend.remove_kvp_items(vm.id, ["tier"])
    assert backend.get_vm(vm.id).kvp_items == (KvpItem(name="role", data="db"),)
    changes = [(e.change.value, e.item.name) for e in events.drain() if isinstance(e, KvpChanged)]
    assert changes == [("added", "role"), ("added", "tier"), ("modified", "role"), ("removed", "tier")]


def test_the_host_cannot_write_guest_items(backend: Backend) -> None:
    vm = new_vm(backend)
    with pytest.raises(InvalidParameterError) as caught:
        backend.add_kvp_items(vm.id, [KvpItem(name="x", source=KvpSource.INTRINSIC)])
    assert caught.value.field == "source"
