"""`cimprovider job list|show|wait|cancel`: the server's jobs
(CIM_ConcreteJob: Msvm_ConcreteJob, Msvm_StorageJob…), kept by Hyper-V for
five minutes after they end. Cancel is RequestStateChange(4 terminate, or
5 kill as os-win does)."""

from __future__ import annotations

import click
import pywbem
from pywbem import CIMInstance, Uint16

from cimprovider.cli.connection import Session, client_command
from cimprovider.cli.failures import CommandFailure, return_code_text
from cimprovider.cli.fanout import gather
from cimprovider.cli.jobs import job_path, job_state_name, read_job, wait
from cimprovider.cli.output import emit, emit_one

FIELDS = ("host", "id", "type", "state", "percent", "submitted", "elapsed", "description", "error_code", "error",
          "kept_for", "path")


def record(job: CIMInstance) -> dict:
    return {
        "id": job["InstanceID"],
        "type": job.get("Caption") or job.classname,
        "state": job_state_name(job),
        "percent": job.get("PercentComplete"),
        "description": job.get("Description"),
        "error_code": job.get("ErrorCode"),
        "error": job.get("ErrorDescription"),
        "submitted": job.get("TimeSubmitted"),
        "elapsed": job.get("ElapsedTime"),
        "kept_for": job.get("TimeBeforeRemoval"),
        "cancellable": job.get("Cancellable"),
        "class": job.classname,
        "path": str(job.path),
    }


@click.group()
def job() -> None:
    """Jobs the server runs for methods that take time."""


@job.command("list")
@click.option("--running", is_flag=True, help="Only jobs that have not ended.")
@client_command()
def list_jobs(session: Session, running: bool) -> None:
    """List jobs, of every --server at once."""

    def fetch(conn: pywbem.WBEMConnection) -> list[dict]:
        jobs = conn.EnumerateInstances("CIM_ConcreteJob")
        rows = [record(j) for j in jobs if not running or int(j["JobState"]) not in (7, 8, 9, 10, 32768)]
        return sorted(rows, key=lambda r: str(r["submitted"] or ""))

    gathered = gather(session, fetch)
    columns = ("host", "type", "state", "percent", "submitted", "elapsed", "id", "error", "description")
    emit(session, gathered.rows, FIELDS, "id", table_columns=columns if session.several else columns[1:], answered=gathered.answered)
    gathered.finish("job list")


@job.command("show")
@click.argument("job_id")
@client_command()
def show(session: Session, job_id: str) -> None:
    """One job, by its ID or path."""
    conn = session.single()
    emit_one(session, record(read_job(conn, job_path(conn, job_id), f"job {job_id}")), "id")


@job.command("wait")
@click.argument("job_id")
@click.option("--timeout-seconds", "limit", type=float, help="Give up after this long (exit 1).")
@client_command()
def wait_command(session: Session, job_id: str, limit: float | None) -> None:
    """Wait for a job to end (progress bar on a terminal); exit 1 with its error if it failed."""
    conn = session.single()
    finished = wait(session, conn, job_path(conn, job_id), f"job {job_id}", timeout=limit)
    click.echo(finished["InstanceID"] if session.quiet else f"job {finished['InstanceID']} {job_state_name(finished).lower()}")


@job.command("cancel")
@click.argument("job_id")
@click.option("--kill", is_flag=True, help="Kill (5) rather than terminate (4).")
@client_command()
def cancel(session: Session, job_id: str, kill: bool) -> None:
    """Ask the server to stop a job."""
    conn = session.single()
    path = job_path(conn, job_id)
    code, _ = conn.InvokeMethod("RequestStateChange", path, RequestedState=Uint16(5 if kill else 4))
    if int(code) != 0 and int(code) != 4096:
        current = read_job(conn, path, f"job {job_id}")
        raise CommandFailure(f"job cancel {job_id}: RequestStateChange returned {return_code_text(int(code))}; the job is {job_state_name(current)}")
    click.echo(f"job {job_id} cancelled")

