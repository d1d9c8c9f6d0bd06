"""Hyper-V's transition table (msvm-v2.md §4), written out independently of
the backends' own table, and the events a transition publishes."""

from __future__ import annotations

import threading

import pytest

from cimprovider.backends import Backend, InvalidStateError, change_power_state
from cimprovider.schemas import (
    IntegrationService,
    IntegrationServiceKind,
    PowerRequest,
    PowerState,
    PowerStateChanged,
)

from backend_scenarios import new_vm, vm_in_state

S, R = PowerState, PowerRequest
STABLE = [S.OFF, S.RUNNING, S.PAUSED, S.SAVED]

# (from, request) → (transitional states seen, end state); absent → 32775.
EXPECTED = {
    (S.OFF, R.START): ([S.STARTING], S.RUNNING),
    (S.RUNNING, R.STOP): ([S.STOPPING], S.OFF),
    (S.RUNNING, R.SHUTDOWN): ([S.STOPPING], S.OFF),
    (S.RUNNING, R.SAVE): ([S.SAVING], S.SAVED),
    (S.RUNNING, R.PAUSE): ([S.PAUSING], S.PAUSED),
    (S.RUNNING, R.RESET): ([], S.RUNNING),
    (S.RUNNING, R.REBOOT): ([], S.RUNNING),
    (S.PAUSED, R.START): ([S.RESUMING], S.RUNNING),
    (S.PAUSED, R.RESUME): ([S.RESUMING], S.RUNNING),
    (S.PAUSED, R.STOP): ([], S.OFF),
    (S.PAUSED, R.SAVE): ([], S.SAVED),
    (S.SAVED, R.START): ([S.STARTING], S.RUNNING),
    (S.SAVED, R.STOP): ([], S.OFF),
}


@pytest.mark.parametrize("request_", list(PowerRequest), ids=lambda r: r.value)
@pytest.mark.parametrize("state", STABLE, ids=lambda s: s.value)
def test_transition_table(backend: Backend, state: PowerState, request_: PowerRequest) -> None:
    vm_id = vm_in_state(backend, state)
    events = backend.events.subscribe_queue(kinds=[PowerStateChanged])
    if (state, request_) not in EXPECTED:
        with pytest.raises(InvalidStateError):
            backend.begin_power_change(vm_id, request_)
        assert backend.get_vm(vm_id).power_state is state
        assert events.drain() == []
        return
    transitional, end = EXPECTED[(state, request_)]
    vm = change_power_state(backend, vm_id, request_)
    assert vm.power_state is end
    assert backend.get_vm(vm_id).power_state is end
    seen = [(event.old, event.new) for event in events.drain() if isinstance(event, PowerStateChanged)]
    path = [state, *transitional, end] if end is not state else [state, *transitional]
    assert seen == list(zip(path, path[1:]))


@pytest.mark.parametrize("request_", list(PowerRequest), ids=lambda r: r.value)
@pytest.mark.parametrize(
    ("state", "begin"),
    [(S.OFF, R.START), (S.RUNNING, R.STOP), (S.RUNNING, R.SAVE), (S.RUNNING, R.PAUSE), (S.PAUSED, R.RESUME), (S.RUNNING, R.RESET)],
    ids=lambda v: v.value,
)
def test_every_request_during_a_transition_is_refused(
    backend: Backend, state: PowerState, begin: PowerRequest, request_: PowerRequest
) -> None:
    vm_id = vm_in_state(backend, state)
    transition = backend.begin_power_change(vm_id, begin)
    try:
        if transition.transitional_state is not None:
            assert backend.get_vm(vm_id).power_state is transition.transitional_state
        with pytest.raises(InvalidStateError, match="in progress"):
            backend.begin_power_change(vm_id, request_)
    finally:
        transition.run()
    assert backend.get_vm(vm_id).power_state is transition.end_state


def test_progress_is_reported_in_order_up_to_100(backend: Backend) -> None:
    vm = new_vm(backend)
    progress: list[int] = []
    change_power_state(backend, vm.id, R.START, progress.append)
    assert progress == sorted(progress)
    assert progress[-1] == 100
    assert len(progress) >= 3


def test_a_transition_runs_only_once(backend: Backend) -> None:
    vm = new_vm(backend)
    transition = backend.begin_power_change(vm.id, R.START)
    transition.run()
    with pytest.raises(Exception):
        transition.run()


def test_a_failing_progress_callback_does_not_leave_the_vm_reserved(backend: Backend) -> None:
    vm = new_vm(backend)

    def broken(percent: int) -> None:
        raise RuntimeError("job store gone")

    with pytest.raises(RuntimeError):
        backend.begin_power_change(vm.id, R.START).run(broken)
    # Whatever happened, the VM settled and takes requests again.
    state = backend.get_vm(vm.id).power_state
    assert not state.is_transitional
    change_power_state(backend, vm.id, R.STOP if state is S.RUNNING else R.START)


@pytest.mark.parametrize(
    ("state", "begin"), [(S.OFF, R.START), (S.RUNNING, R.SAVE), (S.RUNNING, R.RESET), (S.PAUSED, R.STOP)], ids=lambda v: v.value
)
def test_an_abandoned_transition_leaves_the_vm_as_it_was(backend: Backend, state: PowerState, begin: PowerRequest) -> None:
    """What the CIM side does when the transition's job cannot be saved."""
    vm_id = vm_in_state(backend, state)
    events = backend.events.subscribe_queue(kinds=[PowerStateChanged])
    transition = backend.begin_power_change(vm_id, begin)
    transition.abandon()
    assert backend.get_vm(vm_id).power_state is state
    seen = [(event.old, event.new) for event in events.drain() if isinstance(event, PowerStateChanged)]
    if transition.transitional_state is not None:
        assert seen == [(state, transition.transitional_state), (transition.transitional_state, state)]
    else:
        assert seen == []
    with pytest.raises(Exception):
        transition.run()  # given up: it may not run afterwards
    vm = change_power_state(backend, vm_id, begin)  # the VM takes requests again
    assert vm.power_state is transition.end_state


def test_two_concurrent_starts_one_wins(backend: Backend) -> None:
    vm = new_vm(backend)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def start() -> None:
        barrier.wait()
        try:
            change_power_state(backend, vm.id, R.START)
            outcomes.append("started")
        except InvalidStateError:
            outcomes.append("refused")

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "started"]
    assert backend.get_vm(vm.id).power_state is S.RUNNING


@pytest.mark.parametrize("request_", [R.SHUTDOWN, R.REBOOT], ids=lambda r: r.value)
def test_soft_requests_need_the_shutdown_service(backend: Backend, request_: PowerRequest) -> None:
    vm = new_vm(backend)
    change_power_state(backend, vm.id, R.START)
    backend.modify_device(vm.id, IntegrationService(service=IntegrationServiceKind.SHUTDOWN, enabled=False))
    with pytest.raises(InvalidStateError, match="shutdown service"):
        backend.begin_power_change(vm.id, request_)
    backend.modify_device(vm.id, IntegrationService(service=IntegrationServiceKind.SHUTDOWN, enabled=True))
    assert change_power_state(backend, vm.id, request_).power_state in (S.OFF, S.RUNNING)


def test_a_power_change_runs_as_a_job_with_progress(backend: Backend) -> None:
    from cimprovider.jobs import JobRunner, JobState
    from cimprovider.schemas import JobChanged

    vm = new_vm(backend)
    runner = JobRunner(backend.events)
    try:
        events = backend.events.subscribe_queue(kinds=[JobChanged, PowerStateChanged])
        transition = backend.begin_power_change(vm.id, R.START)  # a refusal here is 32775, no job
        job = runner.submit(lambda progress, cancel: transition.run(progress), "RequestStateChange",
                            affected_element_ids=[vm.id], cancellable=False)
        assert runner.wait(job.id, 5).state is JobState.COMPLETED
        percents = [e.job.percent_complete for e in events.drain() if isinstance(e, JobChanged)]
        assert len(set(percents)) >= 5 and percents[-1] == 100
        assert backend.get_vm(vm.id).power_state is S.RUNNING
    finally:
        runner.close()
