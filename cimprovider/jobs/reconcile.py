"""Settling, at start-up, the jobs a killed server left unfinished.

A process killed between a job's work and the record of its end leaves a
record that says Running though the work may be done: a snapshot taken, a
VM defined. Calling every such job failed would tell a client to redo what
exists. So the owner of each kind of job gives a `JobResultCheck`: whether
the job's result exists (the job then reads Completed), and how to remove
what an unfinished one left behind (it then reads failed, interrupted). A
job type without a check reads failed, as before."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from cimprovider.jobs.job import FAILED, INTERRUPTED, Job
from cimprovider.jobs.state import JobEvent
from cimprovider.schemas.jobs import JobState, JobStatus

log = logging.getLogger(__name__)


class JobResultCheck(Protocol):
    def completed(self, job: JobStatus) -> bool:
        """True when what `job` was to produce exists, whole."""
        ...

    def remove_partial(self, job: JobStatus) -> None:
        """Remove whatever the unfinished `job` left half-made (nothing, if it left nothing)."""
        ...


ResultChecks = Mapping[str, JobResultCheck]


def settle(job: Job, checks: ResultChecks, monotonic_now: float) -> None:
    """End an unfinished job read back from the store: Completed if its
    owner finds its result, else failed (interrupted) with its partial
    result removed."""
    status = job.status()
    check = checks.get(job.job_type)
    if check is not None and job.state is JobState.RUNNING and _completed(check, status):
        job.apply(JobEvent.COMPLETE, monotonic_now)
        return
    if check is not None:
        try:
            check.remove_partial(status)
        except Exception:  # noqa: BLE001 - a start-up must not fail for a leftover
            log.exception("job %s (%s): removing what it left failed", job.id, job.job_type)
    job.error_code, job.error_description = FAILED, INTERRUPTED
    job.apply(JobEvent.INTERRUPT, monotonic_now)


def _completed(check: JobResultCheck, status: JobStatus) -> bool:
    try:
        return check.completed(status)
    except Exception:  # noqa: BLE001 - unknown is not completed
        log.exception("job %s (%s): checking its result failed", status.id, status.job_type)
        return False
