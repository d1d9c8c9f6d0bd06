"""Storage migration on one host (MigrationType 32769): the VM's files —
disks, their parents and snapshot disks, ISOs — are copied where the new
resource settings put them (each written as `<name>.migrating` and renamed
into place), differencing disks are pointed at their moved parents, and
then the VM (running or not) is switched to the new paths in one backend
step; only then are the old files deleted. A running VM on a hypervisor
that copies disks live (libvirt's block copy) has them copied and
switched by the hypervisor instead, as the guest keeps writing; a qcow2
disk holding internal snapshots is first copied as a file and prepared
(snapshot_images) so that the hypervisor's copy into it keeps them. The
files under a running disk's top image (an external snapshot's frozen
disk, older overlays, a base image) and the snapshots' memory files are
not written while it runs: they move as files, pointed at each other,
and the hypervisor copies only the top, onto an overlay made on its moved
parent. Snapshot and parent files go beside the VM's disks, as Hyper-V
places them (a snapshot's memory file beside the first disk); a base
image (a qcow2 parent no snapshot names) is copied and left where it
was, since other VMs may read it.

The pairs of paths are kept until the end; whatever ends a move (success,
a failure part way, a restart), each pair is settled by what the VM and
its snapshots read then: the file read stays and the other goes, both
stay when both are read (a guest switched onto copies whose snapshots
still name the old files), and nothing goes when that cannot be read."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import NoReturn
from uuid import UUID

from cimprovider.backends import LiveDiskCopy, MigrationBackend, NotFoundError
from cimprovider.backends.images import ImageService, StorageRoots
from cimprovider.backends.images.errors import PathOutsideStorageError
from cimprovider.jobs import ProgressReporter
from cimprovider.migration.incoming import partial_path
from cimprovider.migration.arrived_parents import is_qcow2, set_parent
from cimprovider.migration.offer import OfferError, Placement, drive_paths, parent_of, placed_record, source_files
from cimprovider.migration.outgoing import MigrationFailed
from cimprovider.migration.snapshot_images import overlay_on_moved_chain, prepared_in_place
from cimprovider.migration.store import MigrationStore
from cimprovider.schemas.migration import MigratingVm, MigrationRequest
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
        place = Placement(request.placements)
        _place_memory(record, place)
        moves = [(old, place(old)) for old in files if place(old) != old]
        reasons = []
        for old, new in moves:
            try:
                # A memory file the backend vouched for lies in its own folder; every other file is read from the roots.
                if old not in record.snapshot_memory:
                    self.roots.confine(old, "disk path")
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
            self._copy_live(request, record, moves, progress)
            return
        place = Placement(dict(moves))
        try:
            self._copy(moves, progress)
            self._reparent(moves, place)
            self.backend.relocate_vm(placed_record(record, place, [old for old, _ in moves]))
        except Exception as error:  # noqa: BLE001 - each file is settled by what the VM reads
            self._failed(request.vm_id, moves, error, frozenset(record.snapshot_memory))
        self._finish(request.vm_id, moves, request.retain_source_copies, frozenset(record.snapshot_memory))
        progress(100)

    def _copy_live(self, request: MigrationRequest, record: MigratingVm, moves: list[tuple[str, str]],
                   progress: ProgressReporter) -> None:
        """A running guest writes its disks while they move: the hypervisor
        copies them and switches the guest over once they are in sync. The
        files under them and the snapshots' memory files move first, as files."""
        tops = set(drive_paths(record.vm))
        live = [(old, new) for old, new in moves if old in tops]
        carried = [(old, new) for old, new in moves if old not in tops]
        place = Placement(dict(moves))
        try:
            for _, new in moves:
                Path(new).parent.mkdir(parents=True, exist_ok=True)
            self._copy(carried, lambda done: progress(done // 2))
            self._reparent(carried, place)
            prepared = self._prepare_snapshot_disks(live, place) if record.snapshots else []
            shallow = self._prepare_overlays([(old, new) for old, new in live if new not in prepared], place)
            copied = (lambda done: progress(47 + done // 2)) if carried else progress
            self.backend.copy_disks_live(request.vm_id, dict(live), copied,  # type: ignore[attr-defined]
                                         frozenset(prepared), frozenset(shallow), dict(carried))
        except Exception as error:  # noqa: BLE001 - disks switched before the failure stay on their copies
            self._failed(request.vm_id, moves, error, frozenset(record.snapshot_memory))
        self._finish(request.vm_id, moves, request.retain_source_copies, frozenset(record.snapshot_memory))
        progress(100)

    def _prepare_snapshot_disks(self, moves: list[tuple[str, str]], place: Placement) -> list[str]:
        """The new paths of qcow2 disks holding internal snapshots, each made
        beforehand from the disk's file so the hypervisor's copy keeps them."""
        prepared = []
        for old, new in moves:
            parent = parent_of(old, self.images)
            if prepared_in_place(Path(old), Path(new), place(parent) if parent else None, self.images):
                prepared.append(new)
        return prepared

    def _prepare_overlays(self, moves: list[tuple[str, str]], place: Placement) -> list[str]:
        """The new paths of running disks whose backing file moved as a file:
        each made an empty overlay on it, for the hypervisor's shallow copy."""
        made = []
        for old, new in moves:
            parent = parent_of(old, self.images)
            if parent is not None and place(parent) != parent:
                overlay_on_moved_chain(Path(old), Path(new), Path(place(parent)), self.images)
                made.append(new)
        return made

    def _reparent(self, moves: list[tuple[str, str]], place: Placement) -> None:
        """Each copy whose parent moved reads through the parent's copy (a
        VHD's locators, a qcow2's backing name rewritten: the bytes are the same)."""
        for old, new in moves:
            parent = parent_of(old, self.images)
            if parent is not None and place(parent) != parent:
                set_parent(self.images, Path(new), Path(place(parent)))

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

    def _failed(self, vm_id: UUID, moves: list[tuple[str, str]], error: Exception, memory: frozenset[str]) -> NoReturn:
        try:
            switched = self._keep_what_the_vm_reads(vm_id, moves, memory)
        except Exception:  # noqa: BLE001 - which file the VM reads is unknown: nothing is deleted
            raise MigrationFailed([f"the storage move of VM {vm_id} failed ({error}); which of its files the"
                                   " VM reads could not be read, so every one is kept until the next start"]) from None
        raise MigrationFailed([_partial_failure(vm_id, moves, switched, error)]) from None

    def _finish(self, vm_id: UUID, moves: list[tuple[str, str]], keep_old: bool, memory: frozenset[str]) -> None:
        if not keep_old:
            try:
                read, bases = self._files_read(vm_id, moves)
            except Exception:  # noqa: BLE001 - the VM moved; a file it may still read is not deleted on a guess
                log.exception("VM %s moved its storage, but what it reads could not be read: its old files are kept", vm_id)
                read, bases = {old for old, _ in moves}, set()
            for old, _ in moves:
                if old in read:
                    log.warning("kept %s: VM %s or one of its snapshots still reads it", old, vm_id)
                elif old not in bases:
                    self._remove_old(old, memory)
        self.store.drop_moves(vm_id)
        log.info("the storage of VM %s moved (%d files)", vm_id, len(moves))

    def reconcile(self) -> None:
        """At start: a hypervisor's copy still running is stopped first (it
        would write into a deleted file); then each file of a move cut short
        is settled by what the VM reads (a live copy switches disk by disk)."""
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

    def _keep_what_the_vm_reads(self, vm_id: UUID, moves: list[tuple[str, str]],
                                memory: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
        """A move that stopped part way (a failure, a restart): of each pair
        the file the VM or a snapshot reads stays (both, if both are read)
        and the other goes; the moves that took place (their copy is read).
        `memory`: the snapshot memory files the backend named its own."""
        try:
            read, bases = self._files_read(vm_id, moves)
        except NotFoundError:  # the VM is gone: its copies are nobody's
            read, bases = set(), set()
        # Any other failure to read it propagates: deleting on a guess could
        # take the very file the guest runs on.
        switched = []
        for old, new in moves:
            if new in read:
                switched.append((old, new))
                if old in read:
                    log.warning("kept %s and its copy %s: VM %s reads the copy, a snapshot still the file", old, new, vm_id)
                elif old not in bases:
                    self._remove_old(old, memory)
            else:  # not switched (its copy cut short, or never begun): the copy goes
                self.roots.remove(partial_path(new), "disk path")
                self.roots.remove(new, "disk path")
        self.store.drop_moves(vm_id)
        log.info("the storage move of VM %s, cut short, was settled by the files it reads", vm_id)
        return switched

    def _remove_old(self, old: str, memory: frozenset[str]) -> None:
        """A file the move left behind: inside the roots, or a snapshot memory
        file the backend named as its own (kept in its own folder) when the
        move began. After a restart that folder is not known here: such a
        file outside the roots is then kept, and logged."""
        if old in memory:
            Path(old).unlink(missing_ok=True)
        else:
            self.roots.remove(old, "disk path")

    def _files_read(self, vm_id: UUID, moves: list[tuple[str, str]]) -> tuple[set[str], set[str]]:
        """(every file the VM and its snapshots read, down each chain (read
        from the headers, each parent confined); the old files of `moves`
        that are base images: a qcow2 another old file reads through that
        none of the VM's snapshots names, which other VMs may read too, so
        it is copied and never taken away, as a migration to another host
        leaves it). NotFoundError if the VM is gone."""
        record = self.backend.migration_record(vm_id)
        try:
            read = set(source_files(record, self.images))
            placed = dict(moves)
            owned = {p for s in record.snapshots for p in s.frozen_disks} | set(record.snapshot_disks)
            parents = {parent_of(old, self.images) for old in placed if Path(old).is_file()}
        except OfferError as error:
            raise RuntimeError(f"the files of VM {vm_id} cannot be followed: {error}") from None
        bases = {p for p in parents if p in placed and p not in owned and placed[p] not in owned and is_qcow2(Path(p))}
        return read, bases


def _place_memory(record: MigratingVm, place: Placement) -> None:
    """A snapshot's memory file goes beside the VM's first disk, where
    Hyper-V keeps a checkpoint's state with the VM's storage, when that
    disk moves; one already beside a disk moves with it (its folder)."""
    disks = drive_paths(record.vm)
    if not disks or place(disks[0]) == disks[0]:
        return
    beside = Path(place(disks[0])).parent
    for memory in record.snapshot_memory:
        if place(memory) == memory:
            place.placements[str(Path(memory))] = str(beside / Path(memory).name)


def _partial_failure(vm_id: UUID, moves: list[tuple[str, str]], switched: list[tuple[str, str]], error: Exception) -> str:
    """What a failed move left where: a disk switched before the failure stays on its copy."""
    if not switched:
        return f"the storage of VM {vm_id} stays where it was: {error}"
    moved = ", ".join(f"{old} moved to {new}" for old, new in switched)
    stayed = ", ".join(old for old, new in moves if (old, new) not in switched)
    return f"the storage of VM {vm_id} moved only in part ({moved}; {stayed or 'nothing else'} stays where it was): {error}"
