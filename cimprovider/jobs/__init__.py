"""Msvm_ConcreteJob-style asynchronous work without CIM: a state machine as
a table, a runner with its own thread pool, progress, cancellation and
retention, every change published on the bus."""

from cimprovider.jobs.job import FAILED, INTERRUPTED, CancelToken, Job, JobCancelled, JobFailure, JobOutcome, ProgressReporter, Work
from cimprovider.jobs.runner import (
    ErrorMapper,
    JobFinishedError,
    JobNotCancellableError,
    JobNotFoundError,
    JobRunner,
    default_error_mapper,
)
from cimprovider.jobs.reconcile import JobResultCheck, ResultChecks
from cimprovider.jobs.store import JobStore
from cimprovider.jobs.state import JOB_TRANSITIONS, IllegalJobTransition, JobError, JobEvent, next_state
from cimprovider.schemas.jobs import JobState, JobStatus

__all__ = [
    "FAILED",
    "INTERRUPTED",
    "JOB_TRANSITIONS",
    "CancelToken",
    "ErrorMapper",
    "IllegalJobTransition",
    "Job",
    "JobCancelled",
    "JobError",
    "JobEvent",
    "JobFailure",
    "JobFinishedError",
    "JobNotCancellableError",
    "JobNotFoundError",
    "JobOutcome",
    "JobResultCheck",
    "JobRunner",
    "JobState",
    "JobStatus",
    "JobStore",
    "ProgressReporter",
    "ResultChecks",
    "Work",
    "default_error_mapper",
    "next_state",
]
