"""How a restarted server tells whether a job the previous process left
unfinished had in fact produced its result (`JobResultCheck`, see
cimprovider.jobs.reconcile): each method that starts such a job says here
what its result is. Jobs are found by their type (the method's name) and
their affected elements, which the methods record in this order:

- CreateSnapshot: (VM, snapshot) — done when the snapshot exists; else the
  differencing disks made for it are removed.
- ImportSystemDefinition: (planned system) — done when the planned system,
  or the VM realized from it, exists.
- RealizePlannedSystem: (planned system = the VM to be) — done when the VM
  is defined.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from cimprovider.backends import Backend, NotFoundError, SnapshotBackend, UnfinishedSnapshots
from cimprovider.backends.planned import PlannedSystemBackend
from cimprovider.jobs import JobResultCheck, JobStatus


class SnapshotTaken:
    def __init__(self, backend: SnapshotBackend) -> None:
        self.backend = backend

    def completed(self, job: JobStatus) -> bool:
        ids = _affected(job, 2)
        return ids is not None and _exists(lambda: self.backend.get_snapshot(ids[1]))

    def remove_partial(self, job: JobStatus) -> None:
        ids = _affected(job, 2)
        if ids is not None and isinstance(self.backend, UnfinishedSnapshots):
            self.backend.discard_unfinished_snapshot(ids[0], ids[1])


class SystemDefined:
    """The VM (or, for an import, its planned system) named by the job's
    first affected element exists; nothing half-made to remove, since
    defining a VM is one change of the backend."""

    def __init__(self, backend: Backend, planned_counts: bool) -> None:
        self.backend = backend
        self.planned_counts = planned_counts

    def completed(self, job: JobStatus) -> bool:
        ids = _affected(job, 1)
        if ids is None:
            return False
        if _exists(lambda: self.backend.get_vm(ids[0])):
            return True
        planned = self.backend if isinstance(self.backend, PlannedSystemBackend) else None
        return self.planned_counts and planned is not None and _exists(lambda: planned.get_planned_system(ids[0]))

    def remove_partial(self, job: JobStatus) -> None:
        return None


def result_checks(backend: Backend) -> dict[str, JobResultCheck]:
    checks: dict[str, JobResultCheck] = {
        "ImportSystemDefinition": SystemDefined(backend, planned_counts=True),
        "RealizePlannedSystem": SystemDefined(backend, planned_counts=False),
    }
    if isinstance(backend, SnapshotBackend):
        checks["CreateSnapshot"] = SnapshotTaken(backend)
    return checks


def _affected(job: JobStatus, count: int) -> tuple[UUID, ...] | None:
    return job.affected_element_ids if len(job.affected_element_ids) >= count else None


def _exists(read: Callable[[], object]) -> bool:
    try:
        read()
    except NotFoundError:
        return False
    return True
