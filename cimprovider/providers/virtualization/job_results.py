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

Power changes ("Virtual machine state change", "Guest shutdown") name
their end state in their `result_ref` — done when the VM is in it (a reset
or reboot names none: it ends where it began, so it reads failed).

Jobs that write files name them in their `result_ref`:

- CreateVirtualHardDisk, ConvertVirtualHardDisk: the new image, written
  under a partial name and renamed when whole — done when the image exists.
- ExportSystemDefinition: the exported definition file, moved into place
  with the rest of the export — done when it exists.

Their partial files (and export's staging folder) carry the partial naming
scheme, which the storage roots' sweep at start-up removes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
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


class FileWritten:
    """The file the job names as its result exists under its final name,
    written since the job began (a file that was there before is not its
    result: the job would have refused to overwrite it)."""

    def completed(self, job: JobStatus) -> bool:
        if not job.result_ref:
            return False
        try:
            written = Path(job.result_ref).stat()
        except OSError:
            return False
        return Path(job.result_ref).is_file() and written.st_mtime >= job.created_at.timestamp() - 1

    def remove_partial(self, job: JobStatus) -> None:
        return None  # partial files are swept from the storage roots at start-up


class PowerStateReached:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def completed(self, job: JobStatus) -> bool:
        ids = _affected(job, 1)
        if ids is None or not job.result_ref:
            return False
        try:
            return self.backend.get_vm(ids[0]).power_state.value == job.result_ref
        except NotFoundError:
            return False

    def remove_partial(self, job: JobStatus) -> None:
        return None  # a backend commits a power change whole, or not at all


def result_checks(backend: Backend) -> dict[str, JobResultCheck]:
    written, powered = FileWritten(), PowerStateReached(backend)
    checks: dict[str, JobResultCheck] = {
        "ImportSystemDefinition": SystemDefined(backend, planned_counts=True),
        "RealizePlannedSystem": SystemDefined(backend, planned_counts=False),
        "CreateVirtualHardDisk": written,
        "ConvertVirtualHardDisk": written,
        "ExportSystemDefinition": written,
        "Virtual machine state change": powered,
        "Guest shutdown": powered,
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
