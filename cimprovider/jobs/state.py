"""A job's life as a table, in the manner of h11: (state, event) → state.
Anything not in the table is an illegal transition and raises."""

from __future__ import annotations

from enum import Enum

from cimprovider.schemas.jobs import JobState


class JobEvent(str, Enum):
    START = "start"  # a worker picked the job up
    RUN = "run"  # the work itself began
    COMPLETE = "complete"
    COMPLETE_WITH_WARNINGS = "complete_with_warnings"
    FAIL = "fail"
    CANCEL = "cancel"  # before it ran, or acknowledged by the work
    KILL = "kill"
    # Found unfinished at start-up: the process that ran it is gone, and
    # with it the work, so it can only have failed.
    INTERRUPT = "interrupt"


class JobError(Exception):
    """Base of the errors the job runner raises."""


class IllegalJobTransition(JobError):
    def __init__(self, state: JobState, event: JobEvent) -> None:
        super().__init__(f"a job that is {state.value} cannot {event.value}")
        self.state = state
        self.event = event


S, E = JobState, JobEvent

JOB_TRANSITIONS: dict[tuple[JobState, JobEvent], JobState] = {
    (S.NEW, E.START): S.STARTING,
    (S.NEW, E.CANCEL): S.TERMINATED,
    (S.NEW, E.KILL): S.KILLED,
    (S.NEW, E.INTERRUPT): S.EXCEPTION,
    (S.STARTING, E.RUN): S.RUNNING,
    (S.STARTING, E.FAIL): S.EXCEPTION,
    (S.STARTING, E.CANCEL): S.TERMINATED,
    (S.STARTING, E.KILL): S.KILLED,
    (S.STARTING, E.INTERRUPT): S.EXCEPTION,
    (S.RUNNING, E.COMPLETE): S.COMPLETED,
    (S.RUNNING, E.COMPLETE_WITH_WARNINGS): S.COMPLETED_WITH_WARNINGS,
    (S.RUNNING, E.FAIL): S.EXCEPTION,
    (S.RUNNING, E.CANCEL): S.TERMINATED,
    (S.RUNNING, E.KILL): S.KILLED,
    (S.RUNNING, E.INTERRUPT): S.EXCEPTION,
}


def next_state(state: JobState, event: JobEvent) -> JobState:
    try:
        return JOB_TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalJobTransition(state, event) from None
