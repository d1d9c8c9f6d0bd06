"""How many inspection jobs (ValidateVirtualHardDisk and the Get methods,
which a reader may call) one principal may have waiting or running at
once. The job workers are few and shared with every change an admin
makes: without a share, a reader asking to validate a large disk over and
over would queue jobs without end and hold the admins' jobs behind them.
Beyond the share the call fails with CIM_ERR_SERVER_LIMITS_EXCEEDED, as
an Open beyond a principal's share of enumeration contexts does."""

from __future__ import annotations

import threading
from uuid import UUID

from pywbem import CIM_ERR_SERVER_LIMITS_EXCEEDED, CIMError

from cimprovider.jobs import JobNotFoundError, JobRunner
from cimprovider.providers.base import OperationContext

MAX_INSPECTIONS_PER_PRINCIPAL = 16


def principal_of(ctx: OperationContext) -> str:
    """The user, or the client's address when authentication is off."""
    return f"user {ctx.user}" if ctx.user is not None else f"client {ctx.address or 'in the server'}"


class InspectionShares:
    def __init__(self, jobs: JobRunner, limit: int = MAX_INSPECTIONS_PER_PRINCIPAL) -> None:
        self.jobs = jobs
        self.limit = limit
        self._lock = threading.Lock()
        self._unfinished: dict[str, set[UUID]] = {}

    def admit(self, principal: str) -> None:
        """CIMError unless `principal` may start one more inspection job."""
        with self._lock:
            held = self._unfinished.get(principal, set())
            held -= {job_id for job_id in held if self._finished(job_id)}
            if not held:
                self._unfinished.pop(principal, None)
            if len(held) >= self.limit:
                raise CIMError(CIM_ERR_SERVER_LIMITS_EXCEEDED,
                               f"{principal} has {len(held)} virtual hard disk inspections waiting or running, "
                               f"the most one may have; wait for them to finish")

    def started(self, principal: str, job_id: UUID) -> None:
        with self._lock:
            self._unfinished.setdefault(principal, set()).add(job_id)

    def _finished(self, job_id: UUID) -> bool:
        try:
            return self.jobs.get(job_id).state.is_finished
        except JobNotFoundError:
            return True
