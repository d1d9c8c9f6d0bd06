"""Storage migration on one host (MigrationType 32769): the VM's files —
disks, their parents and snapshot disks, ISOs — are copied where the new
resource settings put them (each written as `<name>.migrating` and renamed
into place), differencing disks are pointed at their moved parents, and
then the VM (running or not) is switched to the new paths in one backend
step; only then are the old files deleted. A running VM on a hypervisor
that copies disks live (libvirt's block copy) has them copied and
switched by the hypervisor instead, as the guest keeps writing; a qcow2
disk holding internal snapshots is first copied as a file and prepared
(snapshot_images) so that the hypervisor's copy into it keeps them. The pairs of paths are kept
until the end, so a restart finishes a switched move (old files go) or
undoes one that was not (the copies go); a live copy that fails after the
hypervisor switched some disks is settled the same way, disk by disk."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from uuid import UUID

from cimprovider.backends import LiveDiskCopy, MigrationBackend, NotFoundError
from cimprovider.backends.images import ImageService, StorageRoots
from cimprovider.backends.images.errors import PathOutsideStorageError
from cimprovider.jobs import ProgressReporter
from cimprovider.migration.incoming import partial_path
from cimprovider.migration.offer import OfferError, Placement, drive_paths, parent_of, placed_record, source_files
from cimprovider.migration.outgoing import MigrationFailed
from cimprovider.migration.snapshot_images import prepared_in_place
from cimprovider.migration.store import MigrationStore
from cimprovider.schemas.migration import MigrationRequest
from cimprovider.schemas.power import PowerState

log = logging.getLogger("cimprovider.migration")
CHUNK = 1024 * 1024
_LIVE = (PowerState.RUNNING, PowerState.PAUSED)


class StorageMoves:
    def __init__(self, store: MigrationStore, backend: MigrationBackend, roots: StorageRoots) -> None:
        self.store = store
        self.backend = backend
        self.roots = roots
        self.images = ImageService(roots)

    def plan(self, request: MigrationRequest) -> list[tuple[str, str]]:
        """(old, new) for every file that moves; refused as a whole if one cannot."""
        if not request.placements:
            raise MigrationFailed(["a storage migration needs NewResourceSettingData naming each disk's new path"])
        try:
            record = self.backend.migration_record(request.vm_id)
            files = source_files(record, self.images)
        except OfferError as error:
            raise MigrationFailed([str(error)]) from None
        if record.snapshot_definitions and (record.snapshot_memory or any(s.frozen_disks for s in record.snapshots)):
            # The hypervisor's descriptions of external snapshots name their files; a switch on one host re-points
            # only the VM's own.
            raise MigrationFailed([f"VM {request.vm_id}: its external snapshots (overlays beside its disks) keep their "
                                   "files where they are on this host; move the VM to another host, or delete them"])
        place = Placement(request.placements)
        moves = [(old, place(old)) for old in files if place(old) != old]
        reasons = []
        for _, new in moves:
            try:
                target = self.roots.confine(new, "disk path")
            except PathOutsideStorageError as error:
                reasons.append(str(error))
                continue
            if target.exists() and not request.allow_overwrite:
                reasons.append(f"{new} already exists (AllowOverwriteExistingFile is false)")
        if reasons:
            raise MigrationFailed(reasons)
        return moves

    def move(self, request: MigrationRequest, progress: ProgressReporter) -> None:
        moves = self.plan(request)
        try:
            self.backend.hold_vm(request.vm_id, "the VM's storage is moving on this host")
        except Exception as error:  # noqa: BLE001 - NotFound/InvalidState say why
            raise MigrationFailed([str(error)]) from None
        try:
            self._move(request, moves, progress)
        finally:
            self.backend.unhold_vm(request.vm_id)

    def _move(self, request: MigrationRequest, moves: list[tuple[str, str]], progress: ProgressReporter) -> None:
        record = self.backend.migration_record(request.vm_id)
        self.store.put_moves(request.vm_id, moves)
        if record.vm.power_state in _LIVE and isinstance(self.backend, LiveDiskCopy):
            self._copy_live(request, moves, progress)
            return
        try:
            self._copy(moves, progress)
            for old, new in moves:
                parent = parent_of(old, self.images)
                if parent is not None and Placement(dict(moves))(parent) != parent:
                    self.images.set_parent(Path(new), Path(Placement(dict(moves))(parent)))
            self.backend.relocate_vm(placed_record(record, Placement(dict(moves))))
        except Exception as error:  # noqa: BLE001 - every failure undoes the copies
            self._undo(request.vm_id, moves)
            raise MigrationFailed([f"the storage of VM {request.vm_id} stays where it was: {error}"]) from None
        self._finish(request.vm_id, moves, keep_old=request.retain_source_copies)
        progress(100)

    def _copy_live(self, request: MigrationRequest, moves: list[tuple[str, str]], progress: ProgressReporter) -> None:
        """A running guest writes its disks while they move: the hypervisor
        copies them and switches the guest over once they are in sync."""
        try:
            for _, new in moves:
                Path(new).parent.mkdir(parents=True, exist_ok=True)
            prepared = self._prepare_snapshot_disks(moves) if self.backend.migration_record(request.vm_id).snapshots else []
            self.backend.copy_disks_live(request.vm_id, dict(moves), progress,  # type: ignore[attr-defined]
                                         frozenset(prepared))
        except Exception as error:  # noqa: BLE001 - disks switched before the failure stay on their copies
            try:
                switched = self._keep_what_the_vm_reads(request.vm_id, moves)
            except Exception:  # noqa: BLE001 - which file the VM reads is unknown: nothing is deleted
                raise MigrationFailed([f"the storage move of VM {request.vm_id} failed ({error}); which of its files the"
                                       " VM reads could not be read, so every one is kept until the next start"]) from None
            raise MigrationFailed([_partial_failure(request.vm_id, moves, switched, error)]) from None
        self._finish(request.vm_id, moves, keep_old=request.retain_source_copies)
        progress(100)

    def _prepare_snapshot_disks(self, moves: list[tuple[str, str]]) -> list[str]:
        """The new paths of qcow2 disks holding internal snapshots, each made
        beforehand from the disk's file so the hypervisor's copy keeps them."""
        place = Placement(dict(moves))
        prepared = []
        for old, new in moves:
            parent = parent_of(old, self.images)
            if prepared_in_place(Path(old), Path(new), place(parent) if parent else None, self.images):
                prepared.append(new)
        return prepared

    def _copy(self, moves: list[tuple[str, str]], progress: ProgressReporter) -> None:
        total = sum(Path(old).stat().st_size for old, _ in moves) or 1
        done = 0
        for old, new in moves:
            Path(new).parent.mkdir(parents=True, exist_ok=True)
            with open(old, "rb") as source, open(partial_path(new), "wb") as target:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                    done += len(chunk)
                    progress(min(95, done * 95 // total))
            shutil.copystat(old, partial_path(new))
            partial_path(new).replace(new)

    def _undo(self, vm_id: UUID, moves: list[tuple[str, str]]) -> None:
        for _, new in moves:
            self.roots.remove(partial_path(new), "disk path")
            self.roots.remove(new, "disk path")
        self.store.drop_moves(vm_id)

    def _finish(self, vm_id: UUID, moves: list[tuple[str, str]], keep_old: bool = False) -> None:
        if not keep_old:
            for old, _ in moves:
                self.roots.remove(old, "disk path")
        self.store.drop_moves(vm_id)
        log.info("the storage of VM %s moved (%d files)", vm_id, len(moves))

    def reconcile(self) -> None:
        """At start: a hypervisor's copy still running is stopped first (it
        would write into a deleted file); then a move whose VM already
        points at new paths is finished, each disk keeping the file the VM
        reads (a live copy switches disk by disk); any other is undone."""
        for vm_id, moves in self.store.moves().items():
            if isinstance(self.backend, LiveDiskCopy):
                try:
                    self.backend.settle_live_copies(vm_id, dict(moves))
                except Exception:  # noqa: BLE001 - a start-up must not fail for a leftover
                    # Its copy may still be written: kept, with its record, for the next start.
                    log.exception("could not settle the live copy of VM %s's disks; left until the next start", vm_id)
                    continue
            try:
                self._keep_what_the_vm_reads(vm_id, moves)
            except Exception:  # noqa: BLE001 - a start-up must not fail for a leftover
                log.exception("could not read which files VM %s reads; its move is left until the next start", vm_id)

    def _keep_what_the_vm_reads(self, vm_id: UUID, moves: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """A move that stopped part way (a failed copy, a restart): each disk
        keeps the file the VM reads now and the other goes; the moves that
        took place."""
        try:
            now = set(drive_paths(self.backend.migration_record(vm_id).vm))
        except NotFoundError:  # the VM is gone: its copies are nobody's
            now = set()
        # Any other failure to read it propagates: deleting on a guess could
        # take the very file the guest runs on.
        switched = [(old, new) for old, new in moves if new in now]
        if switched:
            self._finish_switched(vm_id, moves, now)
        else:
            self._undo(vm_id, moves)
        return switched

    def _finish_switched(self, vm_id: UUID, moves: list[tuple[str, str]], now: set[str]) -> None:
        for old, new in moves:
            if old in now:  # a disk whose copy was cut short: the VM still reads it, its copy goes
                self.roots.remove(partial_path(new), "disk path")
                self.roots.remove(new, "disk path")
            else:
                self.roots.remove(old, "disk path")
        self.store.drop_moves(vm_id)
        log.info("the storage move of VM %s, cut short, was finished where the VM had switched", vm_id)


def _partial_failure(vm_id: UUID, moves: list[tuple[str, str]], switched: list[tuple[str, str]], error: Exception) -> str:
    """What a failed move left where: a disk switched before the failure stays on its copy."""
    if not switched:
        return f"the storage of VM {vm_id} stays where it was: {error}"
    moved = ", ".join(f"{old} moved to {new}" for old, new in switched)
    stayed = ", ".join(old for old, new in moves if (old, new) not in switched)
    return f"the storage of VM {vm_id} moved only in part ({moved}; {stayed} stays where it was): {error}"
