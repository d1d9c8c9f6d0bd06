import threading
from collections.abc import Iterator
from uuid import uuid4

import pytest

from cimprovider.events import EventBus
from cimprovider.jobs import (
    CancelToken,
    JobFailure,
    JobFinishedError,
    JobNotCancellableError,
    JobNotFoundError,
    JobOutcome,
    JobRunner,
    JobState,
    ProgressReporter,
)
from cimprovider.schemas import JobChange, JobChanged
from tests.support.waiting import DEADLINE


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def runner(clock: FakeClock) -> Iterator[JobRunner]:
    runner = JobRunner(EventBus(), workers=2, retention_seconds=300, clock=clock)
    yield runner
    runner.close()


def stepping(progress: ProgressReporter, cancel: CancelToken) -> str:
    for percent in (25, 50, 75):
        progress(percent)
    return "done"


def test_a_job_runs_to_completion_and_publishes_its_life(runner: JobRunner) -> None:
    events = runner.events.subscribe_queue(kinds=[JobChanged])
    vm_id = uuid4()
    job = runner.submit(stepping, "RequestStateChange", "start VM", affected_element_ids=[vm_id])
    assert job.state is JobState.NEW
    finished = runner.wait(job.id, timeout=DEADLINE)
    assert finished.state is JobState.COMPLETED
    assert finished.percent_complete == 100 and finished.error_code == 0
    assert finished.affected_element_ids == (vm_id,)
    assert finished.elapsed_seconds >= 0 and finished.started_at and finished.finished_at
    assert runner.result(job.id) == "done"
    seen = [(e.change, e.job.state, e.job.percent_complete) for e in events.drain() if isinstance(e, JobChanged)]
    assert seen[0] == (JobChange.CREATED, JobState.NEW, 0)
    assert [state for _, state, _ in seen] == [
        JobState.NEW, JobState.STARTING, JobState.RUNNING, JobState.RUNNING, JobState.RUNNING, JobState.RUNNING, JobState.COMPLETED
    ]
    assert [p for _, _, p in seen] == [0, 0, 0, 25, 50, 75, 100]


def test_warnings_give_completed_with_warnings(runner: JobRunner) -> None:
    job = runner.submit(lambda p, c: JobOutcome(result=1, warnings=["disk is small"]), "x")
    finished = runner.wait(job.id, DEADLINE)
    assert finished.state is JobState.COMPLETED_WITH_WARNINGS
    assert "disk is small" in finished.error_description


def test_a_failure_carries_its_hyper_v_code(runner: JobRunner) -> None:
    def invalid(progress: ProgressReporter, cancel: CancelToken) -> None:
        raise JobFailure(32773, "Data: longer than 1024 characters")

    finished = runner.wait(runner.submit(invalid, "AddKvpItems").id, DEADLINE)
    assert (finished.state, finished.error_code) == (JobState.EXCEPTION, 32773)
    assert "1024" in finished.error_description


def test_other_exceptions_go_through_the_error_mapper(clock: FakeClock) -> None:
    runner = JobRunner(error_mapper=lambda error: (32775, f"mapped: {error}"), clock=clock)
    try:
        finished = runner.wait(runner.submit(lambda p, c: 1 / 0, "x").id, DEADLINE)
        assert (finished.state, finished.error_code) == (JobState.EXCEPTION, 32775)
        assert finished.error_description.startswith("mapped:")
    finally:
        runner.close()


def test_cancel_a_running_job_that_listens(runner: JobRunner) -> None:
    started = threading.Event()

    def patient(progress: ProgressReporter, cancel: CancelToken) -> None:
        started.set()
        while not cancel.wait(0.01):
            pass
        cancel.raise_if_cancelled()

    job = runner.submit(patient, "x")
    assert started.wait(DEADLINE)
    assert runner.cancel(job.id).state is JobState.RUNNING  # asked, not yet acknowledged
    assert runner.wait(job.id, DEADLINE).state is JobState.TERMINATED
    with pytest.raises(JobFinishedError):
        runner.cancel(job.id)


def test_cancel_a_queued_job_terminates_it_before_it_runs() -> None:
    runner = JobRunner(workers=1)
    gate = threading.Event()
    ran: list[str] = []
    try:
        blocker = runner.submit(lambda p, c: gate.wait(DEADLINE), "blocker")
        queued = runner.submit(lambda p, c: ran.append("ran"), "queued")
        assert runner.cancel(queued.id).state is JobState.TERMINATED
        gate.set()
        runner.wait(blocker.id, DEADLINE)
        assert runner.get(queued.id).state is JobState.TERMINATED
        assert ran == []
    finally:
        gate.set()
        runner.close()


def test_kill_ends_at_once_and_ignores_the_work(runner: JobRunner) -> None:
    release = threading.Event()
    job = runner.submit(lambda p, c: release.wait(DEADLINE), "x")
    killed = runner.kill(job.id)
    assert killed.state is JobState.KILLED
    release.set()
    assert runner.wait(job.id, DEADLINE).state is JobState.KILLED


def test_not_cancellable_jobs_refuse(runner: JobRunner) -> None:
    release = threading.Event()
    job = runner.submit(lambda p, c: release.wait(DEADLINE), "x", cancellable=False)
    assert job.cancellable is False
    with pytest.raises(JobNotCancellableError):
        runner.cancel(job.id)
    release.set()


def test_finished_jobs_are_kept_for_the_retention_time_then_forgotten(runner: JobRunner, clock: FakeClock) -> None:
    events = runner.events.subscribe_queue(kinds=[JobChanged])
    job = runner.submit(stepping, "x")
    runner.wait(job.id, DEADLINE)
    clock.now += 299
    assert runner.get(job.id).state is JobState.COMPLETED
    assert job.id in [j.id for j in runner.list()]
    clock.now += 1
    with pytest.raises(JobNotFoundError):
        runner.get(job.id)
    assert runner.list() == []
    expired = [e for e in events.drain() if isinstance(e, JobChanged) and e.change is JobChange.EXPIRED]
    assert [e.job.id for e in expired] == [job.id]


def test_running_jobs_never_expire(runner: JobRunner, clock: FakeClock) -> None:
    release = threading.Event()
    job = runner.submit(lambda p, c: release.wait(DEADLINE), "x")
    clock.now += 10_000
    assert runner.get(job.id).state in (JobState.NEW, JobState.STARTING, JobState.RUNNING)
    release.set()


def test_progress_only_moves_forward(runner: JobRunner) -> None:
    def wobbly(progress: ProgressReporter, cancel: CancelToken) -> None:
        for percent in (40, 20, 150):
            progress(percent)

    events = runner.events.subscribe_queue(kinds=[JobChanged])
    runner.wait(runner.submit(wobbly, "x").id, DEADLINE)
    percents = [e.job.percent_complete for e in events.drain() if isinstance(e, JobChanged)]
    assert percents == sorted(percents) and percents[-1] == 100


def test_unknown_jobs_are_not_found(runner: JobRunner) -> None:
    for call in (runner.get, runner.cancel, runner.kill):
        with pytest.raises(JobNotFoundError):
            call(uuid4())
