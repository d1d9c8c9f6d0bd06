"""Job records in SQLite, so a job outlives the process that ran it.

A client that started a job polls its path; if the server is killed and
restarted meanwhile it must read a failed job there, not CIM_ERR_NOT_FOUND
(Hyper-V keeps a job's instance for its retention time whatever happens).
Only the outward record (a JobStatus) is kept: the work itself, its result
and its cancel token die with the process.

One connection per thread, WAL, one transaction per write, as everywhere
else in the data directory.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from uuid import UUID

from cimprovider.database import Database, FileMarker
from cimprovider.schemas.jobs import JobState, JobStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    job_type TEXT NOT NULL,
    description TEXT NOT NULL,
    state TEXT NOT NULL,
    percent_complete INTEGER NOT NULL,
    error_code INTEGER NOT NULL,
    error_description TEXT NOT NULL,
    cancellable INTEGER NOT NULL,
    affected_element_ids TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    result_ref TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT ''
)
"""
MARKER = FileMarker(0x43494D4A, "job store", frozenset({"jobs"}), "start with no job records")  # "CIMJ"
_COLUMNS = (
    "id, job_type, description, state, percent_complete, error_code, error_description,"
    " cancellable, affected_element_ids, created_at, started_at, finished_at, result_ref, details"
)


class JobStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # A job's record is what a client reads after a crash; a lost
        # progress tick is harmless, a lost state change is not.
        self._db = Database(self.path, synchronous="FULL", marker=MARKER)
        with self._db.transaction() as db:
            db.execute(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
            if "result_ref" not in columns:  # a store written before jobs named their results
                db.execute("ALTER TABLE jobs ADD COLUMN result_ref TEXT NOT NULL DEFAULT ''")
            if "details" not in columns:  # nor kept their owners' details
                db.execute("ALTER TABLE jobs ADD COLUMN details TEXT NOT NULL DEFAULT ''")

    def save(self, job: JobStatus) -> None:
        row = (
            str(job.id), job.job_type, job.description, job.state.value, job.percent_complete,
            job.error_code, job.error_description, int(job.cancellable),
            ",".join(str(i) for i in job.affected_element_ids),
            job.created_at.isoformat(), _text(job.started_at), _text(job.finished_at), job.result_ref, job.details,
        )  # fmt: skip
        with self._db.transaction() as db:
            db.execute(f"INSERT OR REPLACE INTO jobs ({_COLUMNS}) VALUES ({', '.join('?' * 14)})", row)

    def delete(self, job_ids: list[UUID]) -> None:
        if not job_ids:
            return
        with self._db.transaction() as db:
            db.executemany("DELETE FROM jobs WHERE id = ?", [(str(i),) for i in job_ids])

    def load(self) -> list[JobStatus]:
        rows = self._db.connection().execute(f"SELECT {_COLUMNS} FROM jobs ORDER BY created_at").fetchall()
        return [_status(row) for row in rows]

    def close(self) -> None:
        self._db.close()


def _text(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _status(row: tuple) -> JobStatus:
    (job_id, job_type, description, state, percent, code, error, cancellable, affected, created, started, finished, result_ref,
     details) = row
    started_at, finished_at = _moment(started), _moment(finished)
    elapsed = (finished_at - started_at).total_seconds() if started_at and finished_at else 0.0
    return JobStatus(
        id=UUID(job_id), job_type=job_type, description=description, state=JobState(state),
        percent_complete=percent, error_code=code, error_description=error, cancellable=bool(cancellable),
        created_at=datetime.fromisoformat(created), started_at=started_at, finished_at=finished_at,
        elapsed_seconds=max(0.0, elapsed),
        affected_element_ids=tuple(UUID(i) for i in affected.split(",") if i), result_ref=result_ref,
        details=details,
    )  # fmt: skip
