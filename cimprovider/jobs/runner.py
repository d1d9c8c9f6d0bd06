"""Runs jobs on its own thread pool, publishes each change on the bus and
keeps finished jobs for the retention time (Hyper-V: five minutes).

Expiry is lazy — every call first forgets what has outlived its retention —
so no timer thread is needed; `expire()` may also be called on a schedule.

With a JobStore every record is written through: creation, each state
change, and progress at most once a second (a lost tick costs nothing). At
construction the runner reads the store back; a job found unfinished was
running in a process that is gone: it reads Completed if its owner's
result check (`result_checks`, by job type) finds its result, else it ends
Exception (32768, INTERRUPTED) with its partial result removed, and is
kept for the retention time from now, for the client still polling it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

from cimprovider.database import DiskFullError
from cimprovider.events import EventBus
from cimprovider.jobs.job import FAILED, Job, JobCancelled, JobFailure, JobOutcome, Work, _now
from cimprovider.jobs.reconcile import ResultChecks, settle
from cimprovider.jobs.state import JobError, JobEvent
from cimprovider.jobs.store import JobStore
from cimprovider.schemas.events import JobChange, JobChanged
from cimprovider.schemas.jobs import JobState, JobStatus

log = logging.getLogger(__name__)
ErrorMapper = Callable[[BaseException], tuple[int, str]]
_PROGRESS_SAVE_SECONDS = 1.0


class JobNotFoundError(JobError, LookupError):
    """No such job, or it outlived its retention."""


class JobFinishedError(JobError):
    """The job has already finished; it can no longer be cancelled."""


class JobNotCancellableError(JobError):
    """The job was started as not cancellable."""


def default_error_mapper(error: BaseException) -> tuple[int, str]:
    return FAILED, str(error) or type(error).__name__


class JobRunner:
    def __init__(
        self,
        bus: EventBus | None = None,
        workers: int = 4,
        retention_seconds: float = 300.0,
        error_mapper: ErrorMapper = default_error_mapper,
        clock: Callable[[], float] = time.monotonic,
        store: JobStore | None = None,
        result_checks: ResultChecks | None = None,
    ) -> None:
        self.events = bus if bus is not None else EventBus()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")
        self._retention = retention_seconds
        self._map_error = error_mapper
        self._clock = clock
        self._lock = threading.RLock()
        self._jobs: dict[UUID, Job] = {}
        self._store = store
        if store is not None:
            self._restore(store, result_checks or {})

    @property
    def retention_seconds(self) -> float:
        """How long a finished job stays readable (its TimeBeforeRemoval)."""
        return self._retention

    def submit(
        self,
        work: Work,
        job_type: str,
        description: str = "",
        affected_element_ids: Iterable[UUID] = (),
        cancellable: bool = True,
        result_ref: str = "",
        details: str = "",
    ) -> JobStatus:
        """Queue `work(progress, cancel_token)`; returns the new job (state
        New). `result_ref` names what the work makes, for the result check
        of a restart (see `reconcile`); `details` is the owner's own record
        of the job, kept with it."""
        job = Job(job_type, description, cancellable, tuple(affected_element_ids), result_ref, details)
        with self._lock:
            self.expire()
            # Saved before it is known: a job whose record cannot be written
            # (a full disk) is not started, and the caller hears why.
            if self._store is not None:
                self._store.save(job.status())
            self._jobs[job.id] = job
            self._publish(job, JobChange.CREATED, save=False)
            created = job.status()
        self._pool.submit(self._run, job, work)
        return created

    def get(self, job_id: UUID) -> JobStatus:
        with self._lock:
            self.expire()
            return self._job(job_id).status()

    def list(self) -> list[JobStatus]:
        with self._lock:
            self.expire()
            return [job.status() for job in self._jobs.values()]

    def result(self, job_id: UUID) -> object:
        """What the work returned (`JobOutcome.result` or the plain value)."""
        with self._lock:
            return self._job(job_id).result

    def wait(self, job_id: UUID, timeout: float | None = None) -> JobStatus:
        with self._lock:
            job = self._job(job_id)
        job.done.wait(timeout)
        return job.status()

    def cancel(self, job_id: UUID) -> JobStatus:
        """A job not yet running ends Terminated at once; a running one is
        asked to stop and ends Terminated when its work acknowledges."""
        with self._lock:
            job = self._cancellable(job_id)
            job.token.cancel()
            if job.state in (JobState.NEW, JobState.STARTING):
                self._move(job, JobEvent.CANCEL)
            return job.status()

    def kill(self, job_id: UUID) -> JobStatus:
        """End the job Killed now; whatever its work does later is ignored."""
        with self._lock:
            job = self._cancellable(job_id)
            job.token.cancel()
            self._move(job, JobEvent.KILL)
            return job.status()

    def expire(self) -> list[UUID]:
        """Forget finished jobs past their retention; returns their ids."""
        now = self._clock()
        with self._lock:
            gone = [
                job
                for job in self._jobs.values()
                if job.finished_monotonic is not None and now - job.finished_monotonic >= self._retention
            ]
            for job in gone:
                del self._jobs[job.id]
                self._publish(job, JobChange.EXPIRED)
            if self._store is not None and gone:
                try:
                    self._store.delete([job.id for job in gone])
                except DiskFullError as error:  # reads must go on; a restart expires them again
                    log.warning("expired jobs were not removed from the store: %s", error)
        return [job.id for job in gone]

    def close(self, wait: bool = True) -> None:
        """Stop taking work; queued jobs are cancelled, running ones asked to stop."""
        with self._lock:
            for job in self._jobs.values():
                if not job.state.is_finished:
                    job.token.cancel()
        self._pool.shutdown(wait=wait, cancel_futures=True)

    # internals ----------------------------------------------------------

    def _run(self, job: Job, work: Work) -> None:
        with self._lock:
            if job.state is not JobState.NEW:
                return  # cancelled or killed while queued
            self._move(job, JobEvent.START)
            self._move(job, JobEvent.RUN)
        try:
            value = work(lambda percent: self._progress(job, percent), job.token)
        except JobCancelled:
            self._finish(job, JobEvent.CANCEL)
        except JobFailure as failure:
            self._finish(job, JobEvent.FAIL, failure.error_code, failure.description)
        except Exception as error:
            code, description = self._map_error(error)
            self._finish(job, JobEvent.FAIL, code, description)
        else:
            outcome = value if isinstance(value, JobOutcome) else JobOutcome(result=value)
            job.result = outcome.result
            job.warnings = tuple(outcome.warnings)
            event = JobEvent.COMPLETE_WITH_WARNINGS if outcome.warnings else JobEvent.COMPLETE
            self._finish(job, event, 0, "; ".join(outcome.warnings))

    def _finish(self, job: Job, event: JobEvent, code: int = 0, description: str = "") -> None:
        with self._lock:
            if job.state.is_finished:
                return  # killed meanwhile: the work's outcome no longer counts
            job.error_code, job.error_description = code, description
            self._move(job, event)

    def _progress(self, job: Job, percent: int) -> None:
        with self._lock:
            percent = max(0, min(100, int(percent)))
            if job.state is not JobState.RUNNING or percent <= job.percent_complete:
                return  # progress only moves forward, and only while running
            job.percent_complete = percent
            now = time.monotonic()
            save = now - job.saved_monotonic >= _PROGRESS_SAVE_SECONDS
            if save:
                job.saved_monotonic = now
            self._publish(job, JobChange.MODIFIED, save=save)

    def _move(self, job: Job, event: JobEvent) -> None:
        job.apply(event, self._clock())
        self._publish(job, JobChange.MODIFIED)

    def _publish(self, job: Job, change: JobChange, save: bool = True) -> None:
        status = job.status()
        if save and self._store is not None and change is not JobChange.EXPIRED:
            # Written before anyone hears of it, so what a listener saw is
            # what a restarted server reads back. A job under way cannot be
            # refused for want of a record: it goes on in memory, and a
            # restart reconciles it from its result.
            try:
                self._store.save(status)
            except DiskFullError as error:
                log.warning("job %s: its record was not saved: %s", job.id, error)
        self.events.publish(JobChanged(change=change, job=status))

    def _restore(self, store: JobStore, checks: ResultChecks) -> None:
        wall, now = _now(), self._clock()
        for status in store.load():
            if status.state.is_finished and status.finished_at is not None:
                age = max(0.0, (wall - status.finished_at).total_seconds())
                self._jobs[status.id] = Job.restored(status, now - age)
                continue
            job = Job.restored(status, None)
            settle(job, checks, now)
            store.save(job.status())
            self._jobs[job.id] = job
        self.expire()

    def _job(self, job_id: UUID) -> Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise JobNotFoundError(f"no job {job_id}") from None

    def _cancellable(self, job_id: UUID) -> Job:
        self.expire()
        job = self._job(job_id)
        if job.state.is_finished:
            raise JobFinishedError(f"job {job_id} has already finished ({job.state.value})")
        if not job.cancellable:
            raise JobNotCancellableError(f"job {job_id} cannot be cancelled")
        return job
