"""Calling a Hyper-V method and seeing its job through, as clients must
(msvm-v2.md §3): 0 is done, 4096 means a job to poll until JobState is
final, anything else is a failure named by its return code. A failed job's
ErrorDescription becomes the command's one-line error."""

from __future__ import annotations

import sys
import time
from typing import Any

import click
import pywbem
from pywbem import CIMInstance, CIMInstanceName

from cimprovider.cli.connection import Session
from cimprovider.cli.failures import CommandFailure, NotFound, NotWaiting, failure, return_code_text

JOB_STARTED = 4096
FINISHED = {7, 8, 9, 10, 32768}
SUCCEEDED = {7, 32768}
JOB_STATES = {
    2: "New", 3: "Starting", 4: "Running", 5: "Suspended", 6: "Shutting Down", 7: "Completed",
    8: "Terminated", 9: "Killed", 10: "Exception", 11: "Service", 32768: "Completed with warnings",
}
JOB_CLASSES = ("Msvm_ConcreteJob", "Msvm_StorageJob", "Msvm_MigrationJob")
POLL_SECONDS = 0.2


def show_progress() -> bool:
    """A bar only for a person watching: never when stdout is a pipe or a file."""
    return sys.stdout.isatty() and sys.stderr.isatty()


def invoke(conn: pywbem.WBEMConnection, target: CIMInstanceName, method: str, what: str, **params: Any) -> tuple[int, dict]:
    try:
        code, out = conn.InvokeMethod(method, target, **params)
    except pywbem.Error as error:
        raise failure(what, error) from None
    return int(code), dict(out)


def call(session: Session, conn: pywbem.WBEMConnection, target: CIMInstanceName, method: str, what: str,
         *, final: bool = True, **params: Any) -> dict:
    """Invoke `method` and finish it. With --no-wait and `final`, print the
    job's path and raise NotWaiting instead of waiting."""
    code, out = invoke(conn, target, method, what, **params)
    if code == 0:
        return out
    if code != JOB_STARTED:
        raise CommandFailure(f"{what}: {method} returned {return_code_text(code)}")
    job = out.get("Job")
    if job is None:
        raise CommandFailure(f"{what}: {method} returned 4096 but no job")
    if final and not session.wait:
        click.echo(str(job))
        raise NotWaiting()
    wait(session, conn, job, what)
    return out


def wait(session: Session, conn: pywbem.WBEMConnection, job: CIMInstanceName, what: str,
         timeout: float | None = None) -> CIMInstance:
    """Poll the job until it ends; raise with its error text unless it succeeded."""
    deadline = None if timeout is None else time.monotonic() + timeout
    bar = click.progressbar(length=100, label=what, file=sys.stderr) if show_progress() else None
    done = 0
    try:
        while True:
            instance = read_job(conn, job, what)
            percent = int(instance.get("PercentComplete") or 0)
            if bar is not None and percent > done:
                bar.update(percent - done)
                done = percent
            if int(instance["JobState"]) in FINISHED:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise CommandFailure(f"{what}: job {job['InstanceID']} still {job_state_name(instance)} after {timeout:g} s")
            time.sleep(POLL_SECONDS)
    finally:
        if bar is not None:
            bar.render_finish()
    check_finished(instance, what)
    return instance


def read_job(conn: pywbem.WBEMConnection, job: CIMInstanceName, what: str) -> CIMInstance:
    try:
        return conn.GetInstance(job)
    except pywbem.Error as error:
        raise failure(f"{what}: job {job['InstanceID']}", error) from None


def check_finished(job: CIMInstance, what: str) -> None:
    state = int(job["JobState"])
    if state in SUCCEEDED and int(job.get("ErrorCode") or 0) == 0:
        return
    text = job.get("ErrorDescription") or job.get("ErrorSummaryDescription") or job.get("JobStatus") or ""
    code = int(job.get("ErrorCode") or 0)
    reason = f"error {return_code_text(code)}" if code else job_state_name(job).lower()
    raise CommandFailure(f"{what}: job {reason}: {text}".rstrip(": "))


def job_state_name(job: CIMInstance) -> str:
    state = int(job["JobState"])
    return JOB_STATES.get(state, str(state))


def job_path(conn: pywbem.WBEMConnection, given: str) -> CIMInstanceName:
    """A job by full path (as --no-wait prints it) or by its InstanceID."""
    if "." in given and "=" in given:
        path = CIMInstanceName.from_wbem_uri(given)
        path.namespace = path.namespace or conn.default_namespace
        return path
    for classname in JOB_CLASSES:
        path = CIMInstanceName(classname, {"InstanceID": given}, namespace=conn.default_namespace)
        try:
            conn.GetInstance(path, PropertyList=["InstanceID"])
            return path
        except pywbem.CIMError as error:
            if error.status_code not in (pywbem.CIM_ERR_NOT_FOUND, pywbem.CIM_ERR_INVALID_CLASS, pywbem.CIM_ERR_NOT_SUPPORTED):
                raise failure(f"job {given}", error) from None
        except pywbem.Error as error:
            raise failure(f"job {given}", error) from None
    raise NotFound(f"job {given}: no such job (jobs are kept for 5 minutes after they end)")
