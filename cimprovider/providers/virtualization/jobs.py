"""Msvm_ConcreteJob over the JobRunner: JobState, PercentComplete,
ErrorCode/ErrorDescription, GetError/GetErrorEx with embedded Msvm_Error,
cancellation through RequestStateChange (4 terminate, 5 kill — os-win's
cancel), kept for the runner's retention after it ends; and the
associations to what a job affects (Msvm_AffectedJobElement) and to the
service that owns it (Msvm_OwningJobElement)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.jobs import JobFinishedError, JobNotCancellableError, JobNotFoundError, JobStatus
from cimprovider.providers.base import (
    InstanceProvider,
    MethodProvider,
    MethodReturn,
    OperationContext,
    PropertySet,
    Pushdown,
    instance_not_found,
)
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.errors import JOB_INVALID_STATE_TRANSITION
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.migration.job_types import MIGRATION_JOB_TYPES
from cimprovider.providers.virtualization.storage.storage_job_types import STORAGE_JOB_TYPES
from cimprovider.schemas.jobs import JobState

JOB = "Msvm_ConcreteJob"
ERROR = "Msvm_Error"

JOB_STATES = {
    JobState.NEW: 2,
    JobState.STARTING: 3,
    JobState.RUNNING: 4,
    JobState.COMPLETED: 7,
    JobState.TERMINATED: 8,
    JobState.KILLED: 9,
    JobState.EXCEPTION: 10,
    JobState.COMPLETED_WITH_WARNINGS: 32768,
}
_STATUS_TEXT = {
    JobState.NEW: "Job is queued",
    JobState.STARTING: "Job is starting",
    JobState.RUNNING: "Job is running",
    JobState.COMPLETED: "Job completed successfully",
    JobState.COMPLETED_WITH_WARNINGS: "Job completed with warnings",
    JobState.TERMINATED: "Job was cancelled",
    JobState.KILLED: "Job was killed",
    JobState.EXCEPTION: "Job failed",
}


def job_path(virt: Virtualization, job_id: UUID) -> CIMInstanceName:
    return CIMInstanceName(JOB, keybindings={"InstanceID": ids.guid(job_id)}, namespace=virt.namespace)


def job_values(virt: Virtualization, job: JobStatus) -> dict[str, Any]:
    failed = job.state is JobState.EXCEPTION
    changed = job.finished_at or job.started_at or job.created_at
    return {
        "InstanceID": ids.guid(job.id),
        "Caption": job.job_type,
        "Description": job.description,
        "ElementName": job.job_type,
        "Name": job.job_type,
        "JobState": JOB_STATES[job.state],
        "JobStatus": _STATUS_TEXT[job.state],
        "PercentComplete": job.percent_complete,
        "ErrorCode": job.error_code,
        "ErrorDescription": job.error_description or None,
        "ErrorSummaryDescription": job.error_description.split(":")[0] if failed and job.error_description else None,
        "Cancellable": job.cancellable,
        "TimeSubmitted": job.created_at,
        "StartTime": job.started_at,
        "ElapsedTime": timedelta(seconds=job.elapsed_seconds),
        "TimeOfLastStateChange": changed,
        "TimeBeforeRemoval": timedelta(seconds=virt.jobs.retention_seconds),
        "DeleteOnCompletion": False,
        "JobRunTimes": 1,
        "LocalOrUtcTime": 2,
        "Priority": 0,
        "JobType": 0,
        "OperationalStatus": [6] if failed else ([2, 17] if job.state.is_finished else [2]),
        "HealthState": 5,
    }


def error_instance(virt: Virtualization, job: JobStatus) -> CIMInstance:
    """The job's failure as an Msvm_Error to embed."""
    return virt.renderer.embedded(
        ERROR,
        {
            "ErrorType": 4,  # software error
            "OwningEntity": "Microsoft-Windows-Hyper-V-VMMS",
            "MessageID": str(job.error_code),
            "Message": job.error_description or "The operation failed.",
            "MessageArguments": [],
            "PerceivedSeverity": 6,  # fatal
            "ProbableCause": 1,
            "ErrorSource": virt.text(job_path(virt, job.id)),
            "ErrorSourceFormat": 2,  # CIM object path
            "CIMStatusCode": 1,
        },
        only_given=True,
    )


class ConcreteJobProvider(InstanceProvider, MethodProvider):
    classnames = (JOB,)
    read_only_methods = frozenset({"geterror", "geterrorex", "geterrors"})

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for job in self.virt.jobs.list():
            if job.job_type not in STORAGE_JOB_TYPES | MIGRATION_JOB_TYPES:  # those have classes of their own
                yield self.virt.renderer.instance(JOB, job_values(self.virt, job), properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        job = self.job(path)
        if job is None or job.job_type in STORAGE_JOB_TYPES | MIGRATION_JOB_TYPES:
            raise instance_not_found(path)
        return self.virt.renderer.instance(JOB, job_values(self.virt, job), properties)

    def job(self, path: CIMInstanceName) -> JobStatus | None:
        instance_id = next((v for k, v in path.keybindings.items() if k.lower() == "instanceid"), None)
        job_id = ids.parse_guid(instance_id) if isinstance(instance_id, str) else None
        if job_id is None:
            return None
        try:
            return self.virt.jobs.get(job_id)
        except JobNotFoundError:
            return None

    def invoke_method(self, ctx: OperationContext, target: CIMInstanceName | str, method: str, params: dict[str, Any]) -> MethodReturn:
        name = method.lower()
        if isinstance(target, str) or name not in ("geterror", "geterrorex", "geterrors", "requeststatechange"):
            return super().invoke_method(ctx, target, method, params)
        job = self.job(target)
        if job is None:
            raise instance_not_found(target)
        if name == "geterror":
            return MethodReturn(0, {"Error": error_instance(self.virt, job) if job.error_code else None})
        if name in ("geterrorex", "geterrors"):
            return MethodReturn(0, {"Errors": [error_instance(self.virt, job)] if job.error_code else []})
        if name == "requeststatechange":
            return self.change_state(job, params.get("RequestedState"))
        return super().invoke_method(ctx, target, method, params)

    def change_state(self, job: JobStatus, requested: Any) -> MethodReturn:
        try:
            if requested == 4:
                self.virt.jobs.cancel(job.id)
            elif requested == 5:
                self.virt.jobs.kill(job.id)
            else:
                return MethodReturn(1)  # start, suspend and service are not supported
        except (JobFinishedError, JobNotCancellableError):
            return MethodReturn(JOB_INVALID_STATE_TRANSITION)
        return MethodReturn(0)

