"""A server killed with SIGKILL while jobs were unfinished: the restarted
server settles each from its result. A job whose result was made before
the kill — a snapshot committed, an image renamed into place, an export's
definition written — reads Completed; one killed before that reads failed
(interrupted), and what it had half made is gone.

The kill is real (SIGKILL to a `cimprovider serve` process); the instant it
lands is fixed by writing the job records as a kill at that instant leaves
them (the record of the job's end not yet written), since the work takes
milliseconds and no test can aim a signal inside that."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import uuid
from pathlib import Path

import pywbem
from pywbem import CIMInstance, Uint16, Uint64

from tests.integration.model.hyperv import NS, wait_job
from tests.integration.storage.snapshots_client import take_with_job
from tests.integration.storage.transfer_client import export
from tests.integration.storage.vhd_client import MIB, create
from tests.integration.storage.vm_client import disk_paths, vm_with_disk
from tests.support.live import serve_process

COMPLETED, EXCEPTION = 7, 10
AFFECTED, RESULT_REF = 8, 12  # columns of the jobs table


def job_id(job: pywbem.CIMInstanceName) -> str:
    return str(uuid.UUID(job["InstanceID"]))


def reopened(jobs_file: Path, finished_job: str) -> None:
    """The record as a kill after the job's work, before its end was saved, leaves it."""
    with sqlite3.connect(jobs_file) as db:
        db.execute("UPDATE jobs SET state = 'running', percent_complete = 90, finished_at = NULL WHERE id = ?", (finished_job,))
    db.close()


def running_copy(jobs_file: Path, like: str, **columns: str) -> str:
    """Another job of the same type, Running, as a kill before its work was done leaves it."""
    with sqlite3.connect(jobs_file) as db:
        row = list(db.execute("SELECT * FROM jobs WHERE id = ?", (like,)).fetchone())
        row[0] = str(uuid.uuid4())
        for index, value in columns.items():
            row[{"affected": AFFECTED, "result_ref": RESULT_REF}[index]] = value
        db.execute(f"INSERT INTO jobs VALUES ({', '.join('?' * len(row))})", row)
    db.close()
    return row[0]


def create_with_job(conn: pywbem.WBEMConnection, path: Path) -> str:
    vhdsd = CIMInstance("Msvm_VirtualHardDiskSettingData", properties={
        "Type": Uint16(3), "Format": Uint16(2), "Path": str(path), "MaxInternalSize": Uint64(4 * MIB)})  # fmt: skip
    images = conn.EnumerateInstanceNames("Msvm_ImageManagementService")[0]
    code, out = conn.InvokeMethod("CreateVirtualHardDisk", images, VirtualDiskSettingData=vhdsd.tocimxmlstr())
    assert int(code) == 4096 and wait_job(conn, out["Job"])["JobState"] == COMPLETED
    return job_id(out["Job"])


def test_unfinished_jobs_are_settled_from_their_results(tmp_path):
    data, root = tmp_path / "data", tmp_path / "disks"
    args = ("--port", "0", "--data-dir", str(data), "--storage-root", str(root))
    with serve_process(*args) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        create(conn, root / "a.vhd", "dynamic", size=4 * MIB)
        vm = vm_with_disk(conn, "killed", root / "a.vhd")
        snapshot, snapshot_job = take_with_job(conn, vm)
        running_on = Path(disk_paths(conn, vm)[0])
        image_job = create_with_job(conn, root / "b.vhd")
        export(conn, vm, root / "exported")
        export_job = next(job_id(j.path) for j in conn.EnumerateInstances("Msvm_ConcreteJob") if j["Caption"] == "ExportSystemDefinition")
        assert served.stop(signal.SIGKILL) == -signal.SIGKILL

    jobs = data / "jobs.sqlite3"
    for finished in (job_id(snapshot_job), image_job, export_job):
        reopened(jobs, finished)
    lost_snapshot = uuid.uuid4()
    cut_snapshot = running_copy(jobs, job_id(snapshot_job), affected=f"{uuid.UUID(vm['Name'])},{lost_snapshot}")
    leftover = running_on.with_name(f"a_{str(lost_snapshot).upper()}.avhd")
    shutil.copyfile(running_on, leftover)  # the differencing disk made before the kill
    cut_image = running_copy(jobs, image_job, result_ref=str(root / "c.vhd"))
    partial = root / f".c.vhd.{uuid.uuid4()}.partial"
    shutil.copyfile(root / "b.vhd", partial)  # the image being written when the kill came
    cut_export = running_copy(jobs, export_job, result_ref=str(root / "elsewhere" / "Virtual Machines" / f"{vm['Name']}.json"))

    with serve_process(*args) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS, timeout=30)
        settled = {j["InstanceID"].lower(): j for j in conn.EnumerateInstances("Msvm_ConcreteJob")}
        settled.update({j["InstanceID"].lower(): j for j in conn.EnumerateInstances("Msvm_StorageJob")})
        for finished in (job_id(snapshot_job), image_job, export_job):
            job = settled[finished]
            assert (job["Caption"], job["JobState"], job["ErrorCode"], job["PercentComplete"]) == (job["Caption"], COMPLETED, 0, 100)
        for cut in (cut_snapshot, cut_image, cut_export):
            job = settled[cut]
            assert (job["Caption"], job["JobState"], job["ErrorCode"]) == (job["Caption"], EXCEPTION, 32768)
            assert "interrupted" in job["ErrorDescription"]
        assert not leftover.exists() and not partial.exists()
        assert running_on.exists() and (root / "b.vhd").exists()
        snapshots = conn.Associators(vm, AssocClass="Msvm_SnapshotOfVirtualSystem")
        assert [s["InstanceID"] for s in snapshots] == [snapshot["InstanceID"]]
        assert served.stop() == 0
