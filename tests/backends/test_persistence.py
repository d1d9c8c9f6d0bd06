"""Everything survives a restart of the backend."""

from __future__ import annotations

from backend_scenarios import new_vm
from conftest import BackendHarness
from tests.support.waiting import wait_until
from cimprovider.backends import change_power_state
from cimprovider.schemas import Controller, ControllerType, Drive, KvpItem, Media, NetworkAdapter, PowerRequest, PowerState


def test_a_reopened_backend_has_everything(harness: BackendHarness) -> None:
    backend = harness.open()
    vm = new_vm(backend, notes="persist me")
    scsi = backend.add_device(vm.id, Controller(controller_type=ControllerType.SCSI))
    backend.add_device(vm.id, Drive(controller_id=scsi.id, media=Media(path=harness.medium("disk.vhd"))))
    nic = backend.add_device(vm.id, NetworkAdapter())
    backend.add_kvp_items(vm.id, [KvpItem(name="k", data="v")])
    off_vm = new_vm(backend, "stays off")
    change_power_state(backend, vm.id, PowerRequest.START)
    wait_until(lambda: backend.get_runtime(vm.id).uptime_ms > 0, "the uptime counting")
    before = backend.get_vm(vm.id)
    uptime = backend.get_runtime(vm.id).uptime_ms
    backend.close()

    reopened = harness.open()
    assert reopened.get_vm(vm.id) == before
    assert reopened.get_vm(off_vm.id).power_state is PowerState.OFF
    assert reopened.get_runtime(vm.id).uptime_ms >= uptime
    # A new NIC never reuses a MAC handed out before the restart (added to
    # the VM that is off: not every hypervisor hot-plugs).
    assert reopened.add_device(off_vm.id, NetworkAdapter()).mac_address != nic.mac_address  # type: ignore[union-attr]


def test_a_transition_cut_short_leaves_the_stable_state(harness: BackendHarness) -> None:
    backend = harness.open()
    vm = new_vm(backend)
    transition = backend.begin_power_change(vm.id, PowerRequest.START)
    assert backend.get_vm(vm.id).power_state is PowerState.STARTING
    # Opened mid-transition, as after the process died: the store never held
    # the transitional state.
    reopened = harness.open()
    assert reopened.get_vm(vm.id).power_state is PowerState.OFF
    transition.run()
