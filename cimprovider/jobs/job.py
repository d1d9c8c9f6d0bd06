"""One job's record, the handles its work receives, and the outcomes it may
give. Hyper-V's codes: 32768 failed, 32773 invalid parameter, 32775 invalid
state… (msvm-v2.md §3); the runner does not interpret them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from uuid import UUID, uuid4

from cimprovider.jobs.state import JobError, JobEvent, next_state
from cimprovider.schemas.jobs import JobState, JobStatus

FAILED = 32768  # Hyper-V's "failed", for errors nobody classified
INTERRUPTED = "interrupted: the server was stopped during the job"


class JobCancelled(JobError):
    """Raised inside the work (by `CancelToken.raise_if_cancelled`) to stop."""


class JobFailure(JobError):
    """Raised by the work to end the job in Exception with a Hyper-V code."""

    def __init__(self, error_code: int, description: str) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description


@dataclass(frozen=True)
class JobOutcome:
    """What the work may return: a result for the caller, and warnings that
    make the job 'completed with warnings'."""

    result: Any = None
    warnings: Sequence[str] = ()


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        self._event.set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise JobCancelled("the job was cancelled")

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if cancelled meanwhile."""
        return self._event.wait(seconds)


ProgressReporter = Callable[[int], None]
Work = Callable[[ProgressReporter, CancelToken], Any]


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Job:
    job_type: str
    description: str = ""
    cancellable: bool = True
    affected_element_ids: tuple[UUID, ...] = ()
    result_ref: str = ""
    details: str = ""
    id: UUID = field(default_factory=uuid4)
    state: JobState = JobState.NEW
    percent_complete: int = 0
    error_code: int = 0
    error_description: str = ""
    warnings: tuple[str, ...] = ()
    result: Any = None
    created_at: datetime = field(default_factory=_now)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    finished_monotonic: float | None = None
    saved_monotonic: float = 0.0  # when progress was last written to the store
    token: CancelToken = field(default_factory=CancelToken)
    done: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def restored(cls, status: JobStatus, finished_monotonic: float | None) -> Job:
        """A job read back from the store: its record only, no work behind it."""
        job = cls(
            status.job_type, status.description, status.cancellable, tuple(status.affected_element_ids),
            result_ref=status.result_ref, details=status.details, id=status.id, state=status.state, percent_complete=status.percent_complete,
            error_code=status.error_code, error_description=status.error_description,
            created_at=status.created_at, started_at=status.started_at, finished_at=status.finished_at,
            finished_monotonic=finished_monotonic,
        )  # fmt: skip
        if status.state.is_finished:
            job.done.set()
        return job

    def apply(self, event: JobEvent, monotonic_now: float) -> None:
        """Move by the table (raising on an illegal event) and stamp times."""
        self.state = next_state(self.state, event)
        if self.state is JobState.RUNNING:
            self.started_at = _now()
        if self.state.is_finished:
            self.finished_at = _now()
            self.finished_monotonic = monotonic_now
            if self.state in (JobState.COMPLETED, JobState.COMPLETED_WITH_WARNINGS):
                self.percent_complete = 100
            self.done.set()

    def status(self) -> JobStatus:
        end = self.finished_at or _now()
        elapsed = (end - self.started_at).total_seconds() if self.started_at else 0.0
        return JobStatus(
            id=self.id,
            job_type=self.job_type,
            description=self.description,
            state=self.state,
            percent_complete=self.percent_complete,
            error_code=self.error_code,
            error_description=self.error_description,
            cancellable=self.cancellable and not self.state.is_finished,
            created_at=self.created_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            elapsed_seconds=max(0.0, elapsed),
            affected_element_ids=self.affected_element_ids,
            result_ref=self.result_ref,
            details=self.details,
        )
