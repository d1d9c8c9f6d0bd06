"""Msvm_MigrationJob: the jobs of Msvm_VirtualSystemMigrationService.

They run on the shared JobRunner and render as Msvm_ConcreteJob does
(state, progress by bytes moved, ErrorCode and ErrorDescription,
GetError/GetErrorEx), plus what a migration job says of itself: its
MigrationType, the VM (VirtualSystemName) and the DestinationHost, kept
in the job's own record (its details) so they outlive a restart."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.jobs import JobStatus
from cimprovider.providers.base import MethodReturn, OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.jobs import ConcreteJobProvider, error_instance, job_values
from cimprovider.providers.virtualization.migration.job_types import MIGRATION_JOB_TYPES
from cimprovider.providers.virtualization.model import Virtualization

MIGRATION_JOB = "Msvm_MigrationJob"


@dataclass(frozen=True)
class MigrationJobDetails:
    migration_type: int
    vm_id: UUID
    destination: str
    reasons: tuple[str, ...] = ()  # a check's findings, one Msvm_Error each


    def to_json(self) -> str:
        return json.dumps({**asdict(self), "vm_id": str(self.vm_id), "reasons": list(self.reasons)})

    @classmethod
    def of(cls, job: JobStatus) -> MigrationJobDetails | None:
        """The details a job was submitted with (None: a job without them)."""
        if not job.details:
            return None
        data = json.loads(job.details)
        return cls(int(data["migration_type"]), UUID(data["vm_id"]), str(data["destination"]), tuple(data["reasons"]))


def migration_job_path(virt: Virtualization, job_id: UUID) -> CIMInstanceName:
    return CIMInstanceName(MIGRATION_JOB, keybindings={"InstanceID": ids.guid(job_id)}, namespace=virt.namespace)


def migration_job_values(virt: Virtualization, job: JobStatus, details: MigrationJobDetails | None) -> dict[str, Any]:
    values = job_values(virt, job)
    if details is not None:
        values["MigrationType"] = details.migration_type
        values["VirtualSystemName"] = ids.guid(details.vm_id)
        values["DestinationHost"] = details.destination
    return values


class MigrationJobProvider(ConcreteJobProvider):
    """GetError, GetErrorEx and RequestStateChange come from the concrete
    job provider; the class, selection and extra values differ."""

    classnames = (MIGRATION_JOB,)

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for job in self.virt.jobs.list():
            if job.job_type in MIGRATION_JOB_TYPES:
                values = migration_job_values(self.virt, job, MigrationJobDetails.of(job))
                yield self.virt.renderer.instance(MIGRATION_JOB, values, properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        job = self.job(path)
        if job is None:
            raise instance_not_found(path)
        values = migration_job_values(self.virt, job, MigrationJobDetails.of(job))
        return self.virt.renderer.instance(MIGRATION_JOB, values, properties)

    def job(self, path: CIMInstanceName) -> JobStatus | None:
        job = super().job(path)
        return job if job is not None and job.job_type in MIGRATION_JOB_TYPES else None

    def invoke_method(self, ctx: OperationContext, target: CIMInstanceName | str, method: str, params: dict[str, Any]) -> MethodReturn:
        """GetErrorEx of a failed check: one Msvm_Error per reason, as
        Hyper-V lists each thing that stops a migration."""
        if method.lower() == "geterrorex" and isinstance(target, CIMInstanceName):
            job = self.job(target)
            details = MigrationJobDetails.of(job) if job is not None else None
            if job is not None and job.error_code and details is not None and len(details.reasons) > 1:
                errors = []
                for reason in details.reasons:
                    one = job.model_copy(update={"error_description": reason})
                    errors.append(error_instance(self.virt, one))
                return MethodReturn(0, {"Errors": errors})
        return super().invoke_method(ctx, target, method, params)
