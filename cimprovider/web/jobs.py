"""A VM's jobs as Hyper-V shows them: what each does, its state and
progress, and its error in words; read through Msvm_AffectedJobElement as
a client finds the jobs touching an element."""

from __future__ import annotations

from dataclasses import dataclass

from cimprovider.web.cim import ActionFailed, CIMClient, code_text
from cimprovider.web.machines import vm_path

JOB_STATES = {2: "New", 3: "Starting", 4: "Running", 5: "Suspended", 6: "Shutting down", 7: "Completed",
              8: "Terminated", 9: "Killed", 10: "Exception", 11: "Service", 32768: "Completed with warnings"}


@dataclass(frozen=True, slots=True)
class JobView:
    instance_id: str
    description: str
    state: str
    percent: int
    error: str
    running: bool


def vm_jobs(client: CIMClient, guid: str) -> list[JobView]:
    try:
        found = client.associators(vm_path(guid), assoc="Msvm_AffectedJobElement")
    except ActionFailed:
        return []
    jobs = []
    for job in found:
        state = int(job.get("JobState") or 0)
        code = int(job.get("ErrorCode") or 0)
        error = f"{job.get('ErrorDescription') or 'failed'} (error {code_text(code)})" if code else ""
        jobs.append(JobView(str(job.get("InstanceID")), str(job.get("Description") or job.get("Caption") or "Job"),
                            JOB_STATES.get(state, str(state)), int(job.get("PercentComplete") or 0), error,
                            state in (2, 3, 4)))
    return sorted(jobs, key=lambda j: (not j.running, j.instance_id))
