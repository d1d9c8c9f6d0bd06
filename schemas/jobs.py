"""What a job looks like from outside: its states and a snapshot of one.

The state machine itself lives in `cimprovider.jobs`; these are the terms it
publishes on the bus.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

from pydantic import Field

from cimprovider.schemas.base import SchemaModel


class JobState(str, Enum):
    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_WITH_WARNINGS = "completed_with_warnings"
    TERMINATED = "terminated"  # cancelled
    KILLED = "killed"
    EXCEPTION = "exception"

    @property
    def is_finished(self) -> bool:
        return self in FINISHED_JOB_STATES


FINISHED_JOB_STATES = frozenset(
    {
        JobState.COMPLETED,
        JobState.COMPLETED_WITH_WARNINGS,
        JobState.TERMINATED,
        JobState.KILLED,
        JobState.EXCEPTION,
    }
)


class JobStatus(SchemaModel):
    id: UUID
    job_type: str
    description: str = ""
    state: JobState
    percent_complete: int = Field(ge=0, le=100)
    # 0, or a Hyper-V code of 32768 and above.
    error_code: int = 0
    error_description: str = ""
    cancellable: bool = True
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    elapsed_seconds: float = Field(default=0.0, ge=0)
    affected_element_ids: tuple[UUID, ...] = ()
    # What the job makes, as its owner names it (a new image's path, an
    # export's folder), so a restart can tell whether a job cut short by a
    # kill had in fact finished its work.
    result_ref: str = ""
    # What the job's owner says of it beyond the common record (JSON: a
    # migration's type, VM and destination), kept with it across restarts;
    # the runner never reads it.
    details: str = ""
