"""A server killed with SIGKILL while jobs were unfinished: the restarted
server settles each from its result. A CreateSnapshot whose snapshot was
committed before the kill reads Completed; one killed before its commit
reads failed (interrupted) and the differencing disk it had made is gone.

The kill is real (SIGKILL to a `cimprovider serve` process); the instant it
lands is fixed by writing the job records as a kill at that instant leaves
them (the record of the job's end not yet written), since a snapshot takes
milliseconds and no test can aim a signal inside that."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import uuid
from pathlib import Path

import pywbem

from tests.integration.model.hyperv import NS
from tests.integration.storage.snapshots_client import take_with_job
from tests.integration.storage.vhd_client import MIB, create
from tests.integration.storage.vm_client import disk_paths, vm_with_disk
from tests.support.live import serve_process

COMPLETED, EXCEPTION = 7, 10


def job_id(job: pywbem.CIMInstanceName) -> str:
    return str(uuid.UUID(job["InstanceID"]))


def as_left_by_a_kill(jobs_file: Path, finished_job: str, vm: str) -> str:
    """The finished job's record set back to Running (killed after its
    snapshot's commit, before its own), and a second CreateSnapshot record
    Running for a snapshot never committed; returns that snapshot's id."""
    unfinished = uuid.uuid4()
    with sqlite3.connect(jobs_file) as db:
        db.execute("UPDATE jobs SET state = 'running', percent_complete = 90, finished_at = NULL WHERE id = ?", (finished_job,))
        row = db.execute("SELECT * FROM jobs WHERE id = ?", (finished_job,)).fetchone()
        copy = list(row)
        copy[0] = str(uuid.uuid4())
        copy[8] = f"{uuid.UUID(vm)},{unfinished}"
        db.execute(f"INSERT INTO jobs VALUES ({', '.join('?' * len(copy))})", copy)
    db.close()
    return str(unfinished).upper()


def test_unfinished_snapshot_jobs_are_settled_from_their_results(tmp_path):
    data, root = tmp_path / "data", tmp_path / "disks"
    args = ("--port", "0", "--data-dir", str(data), "--storage-root", str(root))
    with serve_process(*args) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        create(conn, root / "a.vhd", "dynamic", size=4 * MIB)
        vm = vm_with_disk(conn, "killed", root / "a.vhd")
        snapshot, job = take_with_job(conn, vm)
        running_on = Path(disk_paths(conn, vm)[0])
        assert served.stop(signal.SIGKILL) == -signal.SIGKILL

    lost = as_left_by_a_kill(data / "jobs.sqlite3", job_id(job), vm["Name"])
    leftover = running_on.with_name(f"a_{lost}.avhd")
    shutil.copyfile(running_on, leftover)  # the differencing disk made before the kill

    with serve_process(*args) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        settled = {j["InstanceID"].lower(): j for j in conn.EnumerateInstances("Msvm_ConcreteJob")}
        done = settled[job_id(job)]
        assert (done["JobState"], done["ErrorCode"], done["PercentComplete"]) == (COMPLETED, 0, 100)
        failed = [j for key, j in settled.items() if key != job_id(job) and j["Caption"] == "CreateSnapshot"]
        assert [(j["JobState"], j["ErrorCode"]) for j in failed] == [(EXCEPTION, 32768)]
        assert "interrupted" in failed[0]["ErrorDescription"]
        assert not leftover.exists()
        assert running_on.exists()
        snapshots = conn.Associators(vm, AssocClass="Msvm_SnapshotOfVirtualSystem")
        assert [s["InstanceID"] for s in snapshots] == [snapshot["InstanceID"]]
        assert served.stop() == 0
