"""SIGKILL during a power change, for real: a VM Starting when the server
is killed is Off again after the restart (the change was never committed)
and its job reads failed, interrupted; a start whose end state was
committed just before the kill (its job's end not yet saved, as set up in
the job store) reads Completed, since the VM is Running."""

from __future__ import annotations

import signal
import sqlite3
import time
import uuid

import pywbem
from pywbem import Uint16

from tests.integration.model.hyperv import NS, define_vm, state, wait_job
from tests.support.live import serve_process

OFF, RUNNING, STARTING = 3, 2, 10
COMPLETED, EXCEPTION = 7, 10


def start(conn: pywbem.WBEMConnection, vm: pywbem.CIMInstanceName) -> pywbem.CIMInstanceName:
    code, out = conn.InvokeMethod("RequestStateChange", vm, RequestedState=Uint16(RUNNING))
    assert int(code) == 4096
    return out["Job"]


def test_power_jobs_cut_by_a_kill_are_settled_by_the_vm_state(tmp_path):
    config = tmp_path / "server.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\nport = 0\ntransition_seconds = 60\n')
    with serve_process("--config", str(config)) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        starting, started = define_vm(conn, "cut-short"), define_vm(conn, "made-it")
        cut_job = start(conn, starting)
        deadline = time.monotonic() + 60
        while conn.GetInstance(cut_job)["JobState"] != 4:  # running
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert state(conn, starting) == STARTING
        assert served.stop(signal.SIGKILL) == -signal.SIGKILL

    quick = tmp_path / "quick.toml"
    quick.write_text(f'data_dir = "{tmp_path / "data"}"\nport = 0\ntransition_seconds = 0.05\n')
    with serve_process("--config", str(quick)) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        cut = conn.GetInstance(cut_job)
        assert (cut["JobState"], cut["ErrorCode"]) == (EXCEPTION, 32768) and "interrupted" in cut["ErrorDescription"]
        assert state(conn, starting) == OFF
        made_job = start(conn, started)
        assert wait_job(conn, made_job)["JobState"] == COMPLETED
        assert served.stop(signal.SIGKILL) == -signal.SIGKILL

    with sqlite3.connect(tmp_path / "data" / "jobs.sqlite3") as db:
        db.execute("UPDATE jobs SET state = 'running', finished_at = NULL WHERE id = ?", (str(uuid.UUID(made_job["InstanceID"])),))
    db.close()
    with serve_process("--config", str(quick)) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        made = conn.GetInstance(made_job)
        assert (made["JobState"], made["ErrorCode"], made["PercentComplete"]) == (COMPLETED, 0, 100)
        assert state(conn, started) == RUNNING
        assert conn.GetInstance(cut_job)["JobState"] == EXCEPTION  # settled once, for good
        assert served.stop() == 0
