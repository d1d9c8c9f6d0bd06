"""A full disk, produced for real: SQLite's SQLITE_FULL through
`PRAGMA max_page_count` on the connection, ENOSPC by writing to /dev/full.
Both read as "the disk is full" wherever a client meets them."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from cimprovider.cimom import operation_failure
from cimprovider.database import Database, DiskFullError, disk_full_message
from cimprovider.events import EventBus
from cimprovider.jobs import JobRunner, JobState, JobStore
from cimprovider.providers.virtualization.errors import hyperv_code
from cimprovider.schemas.events import JobChanged


def capped(db: Database) -> None:
    """Let this thread's connection grow the file by no more than a page."""
    pages = db.connection().execute("PRAGMA page_count").fetchone()[0]
    db.connection().execute(f"PRAGMA max_page_count = {pages + 1}")


def test_sqlite_full_is_a_disk_full_error_naming_the_file(tmp_path: Path) -> None:
    db = Database(tmp_path / "store.sqlite3")
    with db.transaction() as conn:
        conn.execute("CREATE TABLE things (body BLOB)")
    capped(db)
    with pytest.raises(DiskFullError) as raised:
        with db.transaction() as conn:
            conn.execute("INSERT INTO things VALUES (?)", (b"x" * 100_000,))
    assert str(raised.value) == f"the data directory's disk is full ({tmp_path / 'store.sqlite3'})"
    # Nothing half-written, and the connection still works.
    assert db.connection().execute("SELECT count(*) FROM things").fetchone() == (0,)
    with db.transaction() as conn:
        conn.execute("INSERT INTO things VALUES (x'00')")
    db.close()


def test_enospc_is_said_as_a_full_disk() -> None:
    with pytest.raises(OSError) as raised:
        with open("/dev/full", "wb", buffering=0) as out:
            out.write(b"image data")
    error = raised.value
    assert disk_full_message(error) is not None and "disk is full" in disk_full_message(error)
    assert hyperv_code(error) == (32768, disk_full_message(error))
    answer = operation_failure("CreateInstance", error)
    assert answer.status_code == 1 and "disk is full" in answer.status_description
    assert "internal error" not in answer.status_description


def test_a_job_whose_record_cannot_be_saved_is_not_started(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    runner = JobRunner(EventBus(), workers=1, store=store)
    ran = threading.Event()
    capped(store._db)  # the submitting thread's connection
    with pytest.raises(DiskFullError):
        runner.submit(lambda progress, token: [ran.set(), "x" * 200_000][1], "Big", "x" * 200_000)
    assert runner.list() == []
    runner.close()
    assert not ran.is_set()
    store.close()


def test_a_running_job_finishes_even_when_its_record_cannot_be_saved(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    bus = EventBus()
    heard = bus.subscribe_queue(kinds=[JobChanged])
    runner = JobRunner(bus, workers=1, store=store)
    release = threading.Event()

    def work(progress, token):
        capped(store._db)  # the job thread's own connection fills up
        release.wait(30)
        raise RuntimeError("e" * 300_000)  # an error description too large for the room left

    job = runner.submit(work, "Doomed")
    release.set()
    finished = runner.wait(job.id, timeout=30)
    assert finished.state is JobState.EXCEPTION
    # Listeners (indications, the model's caches) hear the end all the same.
    states: list[JobState] = []
    deadline = time.monotonic() + 30
    while JobState.EXCEPTION not in states and time.monotonic() < deadline:
        states += [event.job.state for event in heard.drain()]
        time.sleep(0.01)
    assert JobState.EXCEPTION in states
    runner.close()
    store.close()
