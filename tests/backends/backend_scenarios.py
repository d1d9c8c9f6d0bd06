"""Steps the contract tests share: bring a VM into a given power state."""

from __future__ import annotations

from uuid import UUID

from cimprovider.backends import Backend, change_power_state
from cimprovider.schemas import PowerRequest, PowerState, SystemSettings, VirtualMachine

# From Off, the requests that lead to each stable state.
ROUTES: dict[PowerState, list[PowerRequest]] = {
    PowerState.OFF: [],
    PowerState.RUNNING: [PowerRequest.START],
    PowerState.PAUSED: [PowerRequest.START, PowerRequest.PAUSE],
    PowerState.SAVED: [PowerRequest.START, PowerRequest.SAVE],
}


def new_vm(backend: Backend, name: str = "contract-vm", **settings: object) -> VirtualMachine:
    return backend.define_vm(SystemSettings(name=name, **settings))  # type: ignore[arg-type]


def vm_in_state(backend: Backend, state: PowerState, name: str = "contract-vm") -> UUID:
    vm = new_vm(backend, name)
    for request in ROUTES[state]:
        change_power_state(backend, vm.id, request)
    assert backend.get_vm(vm.id).power_state is state
    return vm.id
