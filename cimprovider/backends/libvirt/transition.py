"""A power change in flight on libvirt: the blocking libvirt call behind
each of Hyper-V's requests.

Start is `create` (which also restores a managed save), hard off is
`destroy` (or dropping the managed save of a saved VM), shutdown asks the
guest — through the agent when it answers, else the ACPI power button —
and waits for it to power off; save is `managedSave`, pause and resume are
`suspend` and `resume`, reset is libvirt's own, and reboot is too, asking
the guest the way shutdown does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from uuid import UUID

import libvirt

from cimprovider.backends.errors import BackendError
from cimprovider.backends.libvirt.host import start_networks
from cimprovider.backends.libvirt.metadata import RUNTIME_NAMESPACE, RUNTIME_PREFIX, render_run
from cimprovider.backends.libvirt.runtime import guest_power_flags
from cimprovider.backends.protocol import ProgressCallback
from cimprovider.backends.transitions import Settlement, TransitionInFlight
from cimprovider.schemas.power import PowerRequest, PowerState
from cimprovider.schemas.vm import VirtualMachine

log = logging.getLogger(__name__)
R = PowerRequest
_RESTARTS = {R.START, R.RESET, R.REBOOT}
POLL_SECONDS = 0.2


class LibvirtTransition(TransitionInFlight):
    def __init__(
        self,
        settlement: Settlement,
        find_domain: Callable[[UUID], libvirt.virDomain],
        call: Callable[[Callable[[], None], str], None],
        vm_id: UUID,
        request: PowerRequest,
        initial_state: PowerState,
        transitional_state: PowerState | None,
        end_state: PowerState,
        shutdown_timeout: float,
    ) -> None:
        super().__init__(vm_id, request, initial_state, transitional_state, end_state)
        self._settlement = settlement
        self._find_domain = find_domain
        self._call = call  # libvirt's errors as the backend's
        self._shutdown_timeout = shutdown_timeout

    def _release(self) -> None:
        self._settlement.abandon(self)

    def run(self, progress: ProgressCallback | None = None) -> VirtualMachine:
        self._claim_run()
        report = progress or (lambda percent: None)
        try:
            report(10)
            domain = self._find_domain(self.vm_id)
            self._call(lambda: self._carry_out(domain, report), f"{self.request.value} the VM")
            report(80)
        finally:
            # Whatever failed, the VM must not stay reserved.
            vm = self._settlement.finish(self)
        report(100)
        return vm

    def _carry_out(self, domain: libvirt.virDomain, report: ProgressCallback) -> None:
        request, initial = self.request, self.initial_state
        if request in (R.START, R.RESUME):
            if initial is PowerState.PAUSED:
                domain.resume()
            else:
                for name in start_networks(domain.connect(), domain):
                    log.info("started libvirt network %s: VM %s is connected to it", name, self.vm_id)
                domain.create()
                if initial is PowerState.SAVED and domain.state()[0] == libvirt.VIR_DOMAIN_PAUSED:
                    domain.resume()  # a save image of a paused guest restores paused; Start means running
        elif request is R.STOP:
            domain.managedSaveRemove(0) if initial is PowerState.SAVED else domain.destroy()
        elif request is R.SHUTDOWN:
            flags = guest_power_flags(domain, libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)
            domain.shutdownFlags(flags) if flags else domain.shutdown()  # shutdown(): the agent, else ACPI
            self._wait_for_power_off(domain, report)
        elif request is R.SAVE:
            domain.managedSave(0)
        elif request is R.PAUSE:
            domain.suspend()
        elif request is R.RESET:
            domain.reset(0)
        elif request is R.REBOOT:
            domain.reboot(guest_power_flags(domain, libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN))
        report(50)
        if request in _RESTARTS and initial is not PowerState.PAUSED:
            # Live-only metadata: it goes away with the running instance.
            domain.setMetadata(
                libvirt.VIR_DOMAIN_METADATA_ELEMENT, render_run(time.time()), RUNTIME_PREFIX, RUNTIME_NAMESPACE,
                libvirt.VIR_DOMAIN_AFFECT_LIVE,
            )

    def _wait_for_power_off(self, domain: libvirt.virDomain, report: ProgressCallback) -> None:
        started = time.monotonic()
        while domain.isActive():
            waited = time.monotonic() - started
            if waited > self._shutdown_timeout:
                raise BackendError(f"the guest did not shut down within {self._shutdown_timeout:.0f} s")
            report(20 + int(30 * waited / self._shutdown_timeout))
            time.sleep(POLL_SECONDS)

