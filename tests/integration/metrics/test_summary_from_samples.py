"""GetSummaryInformation's ProcessorLoad and ProcessorLoadHistory come from
the sampler's intervals: one entry per interval of the VM's run, the load
the last entry; none once the VM is off."""

from __future__ import annotations

from pywbem import Uint32

from tests.integration.metrics.guest import wait_until
from tests.integration.model.hyperv import define_vm, request_state, service
from tests.integration.model.test_os_win_scenario import vssd_path
from tests.support.live import in_process_server

PROCESSOR_LOAD, HISTORY = 101, 102


def summary(conn, vm):
    code, out = conn.InvokeMethod("GetSummaryInformation", service(conn), SettingData=[vssd_path(conn, vm)],
                                  RequestedInformation=[Uint32(PROCESSOR_LOAD), Uint32(HISTORY)])
    assert code == 0
    return out["SummaryInformation"][0]


def test_processor_load_follows_the_samples(tmp_path):
    with in_process_server(tmp_path, metrics_interval_seconds=0.1) as live:
        conn = live.connection("root/virtualization/v2")
        vm = define_vm(conn, "loaded")
        assert summary(conn, vm)["ProcessorLoadHistory"] in ([], None)
        assert request_state(conn, vm, 2)[0] in (0, 4096)
        found = wait_until("ten intervals of load", lambda: (s := summary(conn, vm)) and len(s["ProcessorLoadHistory"] or []) >= 10 and s)
        history = [int(x) for x in found["ProcessorLoadHistory"]]
        assert all(0 < load <= 100 for load in history)
        assert len(set(history)) > 1  # the guest's load moves
        assert int(found["ProcessorLoad"]) in history[-3:]
        assert request_state(conn, vm, 3)[0] in (0, 4096)
        wait_until("no history once off", lambda: not summary(conn, vm)["ProcessorLoadHistory"])
