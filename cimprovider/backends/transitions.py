"""Hyper-V's power transition table (msvm-v2.md §4), shared by every backend.

Each entry: from a stable state, a request goes through an optional
transitional state to its end state. Anything not in the table — asking for
the current state, or anything while a transition is in flight — is an
InvalidStateError (Hyper-V's 32775).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from cimprovider.backends.errors import BackendError, InvalidParameterError, InvalidStateError
from cimprovider.schemas.integration import IntegrationServiceKind
from cimprovider.schemas.power import PowerRequest, PowerState
from cimprovider.schemas.vm import VirtualMachine

S = PowerState
R = PowerRequest


@dataclass(frozen=True, slots=True)
class TransitionPath:
    transitional: PowerState | None  # None: the change is immediate
    end: PowerState


POWER_TRANSITIONS: dict[tuple[PowerState, PowerRequest], TransitionPath] = {
    (S.OFF, R.START): TransitionPath(S.STARTING, S.RUNNING),
    (S.RUNNING, R.STOP): TransitionPath(S.STOPPING, S.OFF),
    (S.RUNNING, R.SHUTDOWN): TransitionPath(S.STOPPING, S.OFF),
    (S.RUNNING, R.SAVE): TransitionPath(S.SAVING, S.SAVED),
    (S.RUNNING, R.PAUSE): TransitionPath(S.PAUSING, S.PAUSED),
    (S.RUNNING, R.RESET): TransitionPath(None, S.RUNNING),
    (S.RUNNING, R.REBOOT): TransitionPath(None, S.RUNNING),
    (S.PAUSED, R.START): TransitionPath(S.RESUMING, S.RUNNING),
    (S.PAUSED, R.RESUME): TransitionPath(S.RESUMING, S.RUNNING),
    (S.PAUSED, R.STOP): TransitionPath(None, S.OFF),
    (S.PAUSED, R.SAVE): TransitionPath(None, S.SAVED),
    (S.SAVED, R.START): TransitionPath(S.STARTING, S.RUNNING),
    (S.SAVED, R.STOP): TransitionPath(None, S.OFF),  # discards the saved state
}


def power_request(value: object) -> PowerRequest:
    """A caller's request as a PowerRequest, or InvalidParameterError."""
    try:
        return PowerRequest(value)
    except ValueError:
        raise InvalidParameterError("request", f"{value!r} is not a power request") from None


def plan_power_change(vm: VirtualMachine, request: PowerRequest) -> TransitionPath:
    """The path of `request` from the VM's state, refusing (32775) what the
    table refuses and a guest shutdown or reboot whose service is off."""
    path = plan_transition(vm.power_state, request)
    if request in (PowerRequest.SHUTDOWN, PowerRequest.REBOOT) and not any(
        s.service is IntegrationServiceKind.SHUTDOWN and s.enabled for s in vm.integration_services
    ):
        raise InvalidStateError(f"cannot {request.value}: the guest's shutdown service is disabled")
    return path


def plan_transition(state: PowerState, request: PowerRequest) -> TransitionPath:
    """The path for `request` from `state`, or InvalidStateError."""
    if state.is_transitional:
        raise InvalidStateError(f"cannot {request.value}: the VM is {state.value}; a transition is in progress")
    path = POWER_TRANSITIONS.get((state, request))
    if path is None:
        raise InvalidStateError(f"cannot {request.value} a VM that is {state.value}")
    return path


class TransitionInFlight:
    """What every backend's power change in flight shares: the states it
    goes through (the PowerTransition protocol's attributes) and the rule
    that `run` happens exactly once."""

    def __init__(
        self,
        vm_id: UUID,
        request: PowerRequest,
        initial_state: PowerState,
        transitional_state: PowerState | None,
        end_state: PowerState,
    ) -> None:
        self.vm_id = vm_id
        self.request = request
        self.initial_state = initial_state
        self.transitional_state = transitional_state
        self.end_state = end_state
        self._ran = threading.Event()

    def _claim_run(self) -> None:
        if self._ran.is_set():
            raise BackendError("this power transition has already run")
        self._ran.set()

    def abandon(self) -> None:
        """Undo the reservation without running: the caller could not
        start the job that would run it (its record could not be saved),
        and a VM left in its transitional state would refuse every later
        request until a restart."""
        self._claim_run()
        self._release()

    def _release(self) -> None:
        """The backend's part of `abandon`: free the VM, restore its state."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.vm_id} {self.request.value}: {self.initial_state.value} → {self.end_state.value}>"


@dataclass(frozen=True, slots=True)
class Settlement:
    """How a backend ends a transition it began: `finish` commits the end
    state (or what the hypervisor reached) and frees the VM; `abandon`
    frees it when the transition never runs. Handed to the transition, so
    it needs no import of its backend."""

    finish: Callable[[TransitionInFlight], VirtualMachine]
    abandon: Callable[[TransitionInFlight], None]
