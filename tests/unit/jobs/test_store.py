"""Jobs written through to SQLite and read back by the next runner: the
record survives, and a job that was running when its process died is
reported failed for the retention time rather than forgotten."""

import threading
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from cimprovider.events import EventBus
from cimprovider.jobs import FAILED, INTERRUPTED, CancelToken, JobFailure, JobNotFoundError, JobRunner, JobState, JobStore
from tests.support.waiting import DEADLINE


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "jobs.sqlite3"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def runner_on(path: Path, clock: FakeClock) -> JobRunner:
    return JobRunner(EventBus(), workers=2, retention_seconds=300, clock=clock, store=JobStore(path))


@pytest.fixture
def blocked() -> Iterator[threading.Event]:
    release = threading.Event()
    yield release
    release.set()


def test_a_finished_job_is_read_back_with_its_error(store_path: Path, clock: FakeClock) -> None:
    affected = uuid4()

    def work(progress, token: CancelToken) -> None:
        progress(40)
        raise JobFailure(32779, "no such file: /x.vhd")

    first = runner_on(store_path, clock)
    job = first.submit(work, "ConvertVirtualHardDisk", "converting", affected_element_ids=[affected])
    first.wait(job.id, DEADLINE)
    first.close()

    again = runner_on(store_path, clock).get(job.id)
    assert again.state is JobState.EXCEPTION
    assert (again.error_code, again.error_description) == (32779, "no such file: /x.vhd")
    assert again.percent_complete == 40
    assert again.job_type == "ConvertVirtualHardDisk" and again.description == "converting"
    assert again.affected_element_ids == (affected,)
    assert again.started_at is not None and again.finished_at is not None
    assert not again.cancellable


def test_a_job_running_when_the_process_died_is_reported_interrupted(
    store_path: Path, clock: FakeClock, blocked: threading.Event
) -> None:
    running = threading.Event()

    def work(progress, token: CancelToken) -> None:
        progress(12)
        running.set()
        blocked.wait(DEADLINE)

    first = runner_on(store_path, clock)  # never closed: the process "dies"
    job = first.submit(work, "ConvertVirtualHardDisk")
    assert running.wait(DEADLINE)

    second = runner_on(store_path, clock)
    found = second.get(job.id)
    assert found.state is JobState.EXCEPTION
    assert found.error_code == FAILED
    assert found.error_description == INTERRUPTED
    assert found.finished_at is not None and not found.cancellable
    # and it stays that way for a third start too
    assert runner_on(store_path, clock).get(job.id).error_description == INTERRUPTED


def test_a_queued_job_is_interrupted_too(store_path: Path, clock: FakeClock, blocked: threading.Event) -> None:
    first = JobRunner(EventBus(), workers=1, clock=clock, store=JobStore(store_path))
    first.submit(lambda p, t: blocked.wait(DEADLINE), "Busy")
    queued = first.submit(lambda p, t: None, "Queued")
    assert first.get(queued.id).state is JobState.NEW

    found = runner_on(store_path, clock).get(queued.id)
    assert (found.state, found.error_code, found.error_description) == (JobState.EXCEPTION, FAILED, INTERRUPTED)


def test_an_interrupted_job_is_kept_for_the_retention_time_from_restart(
    store_path: Path, clock: FakeClock, blocked: threading.Event
) -> None:
    started = threading.Event()
    first = runner_on(store_path, clock)
    job = first.submit(lambda p, t: (started.set(), blocked.wait(DEADLINE)), "Long")
    assert started.wait(DEADLINE)

    second = runner_on(store_path, clock)
    clock.now += 299
    assert second.get(job.id).state is JobState.EXCEPTION
    clock.now += 1
    with pytest.raises(JobNotFoundError):
        second.get(job.id)
    # expired jobs leave the store as well
    assert runner_on(store_path, clock).list() == []


def test_progress_is_written_but_not_on_every_tick(store_path: Path, clock: FakeClock, blocked: threading.Event) -> None:
    ticked = threading.Event()

    def work(progress, token: CancelToken) -> None:
        for percent in range(1, 60):
            progress(percent)
        ticked.set()
        blocked.wait(DEADLINE)

    first = runner_on(store_path, clock)
    job = first.submit(work, "Ticks")
    assert ticked.wait(DEADLINE)
    assert first.get(job.id).percent_complete == 59
    stored = {status.id: status for status in JobStore(store_path).load()}[job.id]
    assert stored.state is JobState.RUNNING
    assert 1 <= stored.percent_complete < 59  # the first tick is written, the rest throttled


def test_a_runner_without_a_store_keeps_nothing(store_path: Path, clock: FakeClock) -> None:
    plain = JobRunner(EventBus(), clock=clock)
    plain.wait(plain.submit(lambda p, t: None, "Quick").id, DEADLINE)
    plain.close()
    assert not store_path.exists()
