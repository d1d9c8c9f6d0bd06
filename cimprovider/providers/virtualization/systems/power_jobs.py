"""A power change's job. The backend reserves the VM before the job
exists; if the job cannot be started — its record cannot be saved, the
data directory's disk being full — the reservation is given back, so the
VM is not left Starting (or Stopping…) refusing every later request, and
the error goes to the caller, who learns why."""

from __future__ import annotations

from uuid import UUID

from cimprovider.backends.protocol import PowerTransition
from cimprovider.jobs import JobStatus
from cimprovider.providers.virtualization.model import Virtualization


def submit_transition(virt: Virtualization, transition: PowerTransition, job_type: str, description: str, vm_id: UUID) -> JobStatus:
    # The end state is the job's result, when reaching it proves the job
    # ran (not for a reset or reboot, which end where they began).
    end = transition.end_state.value if transition.end_state is not transition.initial_state else ""
    try:
        return virt.jobs.submit(
            lambda progress, _token: transition.run(progress), job_type, description, (vm_id,),
            cancellable=False, result_ref=end,
        )  # fmt: skip
    except BaseException:
        transition.abandon()
        raise
