"""Jobs written through to SQLite and read back by the next runner: the
record survives, and a job that was running when its process died is
reported failed for the retention time rather than forgotten."""

import threading
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from cimprovider.events import EventBus
from cimprovider.jobs import FAILED, INTERRUPTED, CancelToken, JobFailure, JobNotFoundError, JobRunner, JobState, JobStatus, JobStore
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


class MarkerCheck:
    """A job's result: a file named by its description."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.removed: list[str] = []

    def completed(self, job: JobStatus) -> bool:
        return (self.folder / job.description).is_file()

    def remove_partial(self, job: JobStatus) -> None:
        partial = self.folder / f"{job.description}.partial"
        if partial.exists():
            partial.unlink()
            self.removed.append(job.description)


def test_unfinished_jobs_are_settled_by_their_owners_checks(
    store_path: Path, clock: FakeClock, blocked: threading.Event, tmp_path: Path
) -> None:
    started = threading.Barrier(4)
    first = JobRunner(EventBus(), workers=3, clock=clock, store=JobStore(store_path))  # the process "dies"
    done = first.submit(lambda p, t: (started.wait(5), blocked.wait(10)), "Write", "made")
    cut = first.submit(lambda p, t: (started.wait(5), blocked.wait(10)), "Write", "half")
    other = first.submit(lambda p, t: (started.wait(5), blocked.wait(10)), "Unchecked", "made")
    started.wait(5)
    (tmp_path / "made").write_text("whole")  # one job's result exists
    (tmp_path / "half.partial").write_text("half")  # the other left a partial file
    check = MarkerCheck(tmp_path)

    second = JobRunner(EventBus(), clock=clock, store=JobStore(store_path), result_checks={"Write": check})
    assert (second.get(done.id).state, second.get(done.id).error_code, second.get(done.id).percent_complete) == (JobState.COMPLETED, 0, 100)
    assert (second.get(cut.id).state, second.get(cut.id).error_description) == (JobState.EXCEPTION, INTERRUPTED)
    assert check.removed == ["half"] and not (tmp_path / "half.partial").exists()
    assert second.get(other.id).state is JobState.EXCEPTION  # no check: failed, as ever
    # What was settled is what the next start reads.
    third = runner_on(store_path, clock)
    assert [third.get(j.id).state for j in (done, cut, other)] == [JobState.COMPLETED, JobState.EXCEPTION, JobState.EXCEPTION]


def test_a_check_that_fails_leaves_the_job_failed(store_path: Path, clock: FakeClock, blocked: threading.Event) -> None:
    started = threading.Event()
    first = runner_on(store_path, clock)
    job = first.submit(lambda p, t: (started.set(), blocked.wait(10)), "Write")
    assert started.wait(5)

    class Broken:
        def completed(self, job: JobStatus) -> bool:
            raise OSError("the hypervisor is away")

        def remove_partial(self, job: JobStatus) -> None:
            raise OSError("still away")

    second = JobRunner(EventBus(), clock=clock, store=JobStore(store_path), result_checks={"Write": Broken()})
    assert (second.get(job.id).state, second.get(job.id).error_description) == (JobState.EXCEPTION, INTERRUPTED)


def test_a_store_from_before_result_refs_is_read_and_upgraded(store_path: Path, clock: FakeClock) -> None:
    import sqlite3
    from datetime import datetime, timezone

    old = uuid4()
    with sqlite3.connect(store_path) as db:
        db.execute(
            "CREATE TABLE jobs (id TEXT PRIMARY KEY, job_type TEXT NOT NULL, description TEXT NOT NULL, state TEXT NOT NULL,"
            " percent_complete INTEGER NOT NULL, error_code INTEGER NOT NULL, error_description TEXT NOT NULL,"
            " cancellable INTEGER NOT NULL, affected_element_ids TEXT NOT NULL, created_at TEXT NOT NULL,"
            " started_at TEXT, finished_at TEXT)"
        )
        now = datetime.now(timezone.utc).isoformat()
        db.execute(
            "INSERT INTO jobs VALUES (?, 'CreateVirtualHardDisk', '', 'completed', 100, 0, '', 0, '', ?, ?, ?)",
            (str(old), now, now, now),
        )
    db.close()
    runner = runner_on(store_path, clock)
    job = runner.submit(lambda p, t: None, "CreateVirtualHardDisk", result_ref="/disks/new.vhd")
    runner.wait(job.id, 5)
    runner.close()
    loaded = {status.id: status for status in JobStore(store_path).load()}
    assert loaded[old].result_ref == "" and loaded[old].state is JobState.COMPLETED
    assert loaded[job.id].result_ref == "/disks/new.vhd"
