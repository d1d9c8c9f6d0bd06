"""RequestStateChange from every stable state with every request: the
return code and where the VM ends (msvm-v2.md §4). 4096 means a job ran
to completion; 32775 (invalid state) and 32773 (not a request) leave the
VM where it was."""

from __future__ import annotations

import pytest
from pywbem import Uint16

from tests.integration.model.hyperv import define_vm, request_state, state

OFF, RUNNING, SAVED, PAUSED = 3, 2, 6, 9
# How to reach each state from Off.
ROUTES = {OFF: [], RUNNING: [2], SAVED: [2, 6], PAUSED: [2, 9]}
# (state, request) -> end state; anything absent is 32775.
TABLE = {
    (OFF, 2): RUNNING,
    (RUNNING, 3): OFF,
    (RUNNING, 4): OFF,
    (RUNNING, 6): SAVED,
    (RUNNING, 9): PAUSED,
    (RUNNING, 10): RUNNING,
    (RUNNING, 11): RUNNING,
    (PAUSED, 2): RUNNING,
    (PAUSED, 3): OFF,
    (PAUSED, 6): SAVED,
    (SAVED, 2): RUNNING,
    (SAVED, 3): OFF,
}
REQUESTS = (2, 3, 4, 6, 9, 10, 11)
NOT_REQUESTS = (0, 7, 8, 32768)
CASES = [(s, r) for s in ROUTES for r in REQUESTS] + [(s, r) for s in (OFF, RUNNING) for r in NOT_REQUESTS]


@pytest.mark.parametrize(("start", "requested"), CASES, ids=[f"{s}-{r}" for s, r in CASES])
def test_transition(conn, start, requested):
    vm = define_vm(conn, f"table-{start}-{requested}")
    for step in ROUTES[start]:
        assert request_state(conn, vm, step)[0] == 4096
    assert state(conn, vm) == start
    code, job = request_state(conn, vm, requested)
    if requested in NOT_REQUESTS:
        assert (code, state(conn, vm)) == (32773, start)
    elif (start, requested) in TABLE:
        assert code == 4096 and job["JobState"] == 7
        assert state(conn, vm) == TABLE[(start, requested)]
        assert conn.GetInstance(vm)["RequestedState"] == 5
    else:
        assert (code, state(conn, vm)) == (32775, start)


def test_request_during_a_transition_is_invalid_state(conn):
    vm = define_vm(conn, "busy")
    code, out = conn.InvokeMethod("RequestStateChange", vm, RequestedState=Uint16(2))
    assert code == 4096
    during = conn.GetInstance(vm)
    assert during["EnabledState"] in (10, 2)
    if during["EnabledState"] == 10:
        assert during["RequestedState"] == 2
        assert int(conn.InvokeMethod("RequestStateChange", vm, RequestedState=Uint16(3))[0]) == 32775
