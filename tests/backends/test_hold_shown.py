"""A held VM (a migration in flight, or one waiting to be settled with its
destination) says so on the VM the backend publishes, on both backends:
the model shows it (Msvm_ComputerSystem's OperationalStatus) and the web
console follows it from the bus, the moment the hold starts and ends."""

from __future__ import annotations

import pytest

from cimprovider.backends import MigrationBackend, change_power_state
from cimprovider.backends.errors import HeldError
from cimprovider.events import EventBus
from cimprovider.schemas import PowerRequest, SystemSettings
from cimprovider.schemas.events import VmModified
from tests.backends.conftest import BackendHarness

REASON = "its migration to hostb is not settled: hostb stopped answering"


def test_a_hold_and_its_end_are_published_on_the_vm(harness: BackendHarness) -> None:
    bus = EventBus()
    seen: list[VmModified] = []
    subscription = bus.subscribe(seen.append, (VmModified,))
    backend = harness.open(bus)
    assert isinstance(backend, MigrationBackend)
    vm = backend.define_vm(SystemSettings(name="held"))
    assert backend.get_vm(vm.id).held == ""

    backend.hold_vm(vm.id, "the VM is migrating to hostb")
    backend.hold_vm(vm.id, REASON, again=True)
    assert backend.get_vm(vm.id).held == REASON
    assert [v.held for v in backend.list_vms() if v.id == vm.id] == [REASON]
    assert REASON not in backend.get_vm(vm.id).model_dump_json(), "a hold is a reading, never stored"
    assert [(e.previous.held, e.vm.held) for e in seen] == [("", "the VM is migrating to hostb"),
                                                            ("the VM is migrating to hostb", REASON)]
    with pytest.raises(HeldError, match="hostb stopped answering"):
        change_power_state(backend, vm.id, PowerRequest.START)

    backend.unhold_vm(vm.id)
    assert backend.get_vm(vm.id).held == ""
    assert (seen[-1].previous.held, seen[-1].vm.held) == (REASON, "")
    subscription.close()
