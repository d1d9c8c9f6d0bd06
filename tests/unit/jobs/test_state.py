"""Every job state × every event: the table's answer or IllegalJobTransition."""

import pytest

from cimprovider.jobs import IllegalJobTransition, JobEvent, JobState, next_state

S, E = JobState, JobEvent

EXPECTED = {
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


@pytest.mark.parametrize("event", list(JobEvent), ids=lambda e: e.value)
@pytest.mark.parametrize("state", list(JobState), ids=lambda s: s.value)
def test_job_transition_table(state: JobState, event: JobEvent) -> None:
    if (state, event) in EXPECTED:
        assert next_state(state, event) is EXPECTED[(state, event)]
    else:
        with pytest.raises(IllegalJobTransition) as caught:
            next_state(state, event)
        assert caught.value.state is state and caught.value.event is event


def test_finished_states_accept_nothing() -> None:
    finished = [state for state in JobState if state.is_finished]
    assert set(finished) == {S.COMPLETED, S.COMPLETED_WITH_WARNINGS, S.TERMINATED, S.KILLED, S.EXCEPTION}
    assert not any((state, event) in EXPECTED for state in finished for event in JobEvent)
