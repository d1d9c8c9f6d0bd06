"""Msvm_StorageJob: the jobs of Msvm_ImageManagementService.

They run on the same JobRunner as every other job and are rendered with the
same values as Msvm_ConcreteJob (state, progress, ErrorCode and
ErrorDescription, GetError/GetErrorEx); only the class differs, as on
Hyper-V, where a storage job is not an Msvm_ConcreteJob. A job is a storage
job when its job type is one of the image service's methods."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.jobs import JobStatus
from cimprovider.providers.base import OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.jobs import ConcreteJobProvider, job_values
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.storage.storage_job_types import STORAGE_JOB_TYPES

STORAGE_JOB = "Msvm_StorageJob"

def is_storage_job(job: JobStatus) -> bool:
    return job.job_type in STORAGE_JOB_TYPES


def storage_job_path(virt: Virtualization, job_id: UUID) -> CIMInstanceName:
    return CIMInstanceName(STORAGE_JOB, keybindings={"InstanceID": ids.guid(job_id)}, namespace=virt.namespace)


def storage_job_values(virt: Virtualization, job: JobStatus) -> dict[str, Any]:
    values = job_values(virt, job)
    values["JobCompletionStatusCode"] = job.error_code
    return values


class StorageJobProvider(ConcreteJobProvider):
    """GetError, GetErrorEx and RequestStateChange come from the concrete
    job provider; only the class and the selection differ."""

    classnames = (STORAGE_JOB,)

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for job in self.virt.jobs.list():
            if is_storage_job(job):
                yield self.virt.renderer.instance(STORAGE_JOB, storage_job_values(self.virt, job), properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        job = self.job(path)
        if job is None:
            raise instance_not_found(path)
        return self.virt.renderer.instance(STORAGE_JOB, storage_job_values(self.virt, job), properties)

    def job(self, path: CIMInstanceName) -> JobStatus | None:
        job = super().job(path)
        return job if job is not None and is_storage_job(job) else None
