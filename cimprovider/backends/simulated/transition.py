"""A power change in flight on the simulated host: it waits out the
configured transition time in steps, reporting progress, then asks the
backend to commit the end state."""

from __future__ import annotations

import time
from uuid import UUID

from cimprovider.backends.protocol import ProgressCallback
from cimprovider.backends.transitions import Settlement, TransitionInFlight
from cimprovider.schemas.power import PowerRequest, PowerState
from cimprovider.schemas.vm import VirtualMachine

PROGRESS_STEPS = 10


class SimulatedTransition(TransitionInFlight):
    def __init__(
        self,
        settlement: Settlement,
        vm_id: UUID,
        request: PowerRequest,
        initial_state: PowerState,
        transitional_state: PowerState | None,
        end_state: PowerState,
        seconds: float,
    ) -> None:
        super().__init__(vm_id, request, initial_state, transitional_state, end_state)
        self._settlement = settlement
        self._seconds = seconds

    def _release(self) -> None:
        self._settlement.abandon(self)

    def run(self, progress: ProgressCallback | None = None) -> VirtualMachine:
        self._claim_run()
        try:
            for step in range(1, PROGRESS_STEPS):
                time.sleep(self._seconds / PROGRESS_STEPS)
                if progress is not None:
                    progress(step * 100 // PROGRESS_STEPS)
            time.sleep(self._seconds / PROGRESS_STEPS)
        finally:
            # Even if a progress callback fails, the VM must not stay reserved.
            vm = self._settlement.finish(self)
        if progress is not None:
            progress(100)
        return vm

