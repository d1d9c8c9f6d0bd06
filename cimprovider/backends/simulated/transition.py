"""A power change in flight on the simulated host: it waits out the
configured transition time in steps, reporting progress, then asks the
backend to commit the end state."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING
from uuid import UUID

from cimprovider.backends.errors import BackendError
from cimprovider.backends.protocol import ProgressCallback
from cimprovider.schemas.power import PowerRequest, PowerState
from cimprovider.schemas.vm import VirtualMachine

if TYPE_CHECKING:
    from cimprovider.backends.simulated.backend import SimulatedBackend

PROGRESS_STEPS = 10


class SimulatedTransition:
    def __init__(
        self,
        backend: "SimulatedBackend",
        vm_id: UUID,
        request: PowerRequest,
        initial_state: PowerState,
        transitional_state: PowerState | None,
        end_state: PowerState,
        seconds: float,
    ) -> None:
        self._backend = backend
        self.vm_id = vm_id
        self.request = request
        self.initial_state = initial_state
        self.transitional_state = transitional_state
        self.end_state = end_state
        self._seconds = seconds
        self._ran = threading.Event()

    def run(self, progress: ProgressCallback | None = None) -> VirtualMachine:
        if self._ran.is_set():
            raise BackendError("this power transition has already run")
        self._ran.set()
        try:
            for step in range(1, PROGRESS_STEPS):
                time.sleep(self._seconds / PROGRESS_STEPS)
                if progress is not None:
                    progress(step * 100 // PROGRESS_STEPS)
            time.sleep(self._seconds / PROGRESS_STEPS)
        finally:
            # Even if a progress callback fails, the VM must not stay reserved.
            vm = self._backend._finish_transition(self)
        if progress is not None:
            progress(100)
        return vm

    def __repr__(self) -> str:
        return f"<SimulatedTransition {self.vm_id} {self.request.value}: {self.initial_state.value} → {self.end_state.value}>"
