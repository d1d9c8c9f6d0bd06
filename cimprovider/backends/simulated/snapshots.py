"""Snapshots for the simulated host (the `SnapshotBackend` contract).

The disks are real: taking a snapshot freezes each VHD of the VM and moves
the VM onto a new differencing child (`<disk>_<GUID>.avhd` beside it, as
Hyper-V names its checkpoint disks); applying one moves the VM onto a fresh
child of the snapshot's frozen disk and deletes the child it leaves, so
what was written since the snapshot is gone. Files are made before the
change is committed and removed again if anything fails; files are deleted
only after the commit, and only those snapshots made (never a disk a client
gave) once no disk of the VM or its snapshots reads through them.

A mixin of SimulatedBackend: it uses the backend's lock, store, VMs and
`_commit`, so a snapshot and the VM's new disks are one transaction."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from cimprovider.backends.errors import InvalidParameterError, InvalidStateError, NotFoundError
from cimprovider.backends.images import ImageService, StorageRoots
from cimprovider.backends.protocol import ProgressCallback
from cimprovider.schemas.devices import Drive, DriveType
from cimprovider.schemas.events import EventBase, PowerStateChanged, VmModified
from cimprovider.schemas.images import VirtualHardDiskFormat, VirtualHardDiskSettings, VirtualHardDiskType
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.snapshots import Snapshot, SnapshotKind, SnapshotPosition
from cimprovider.schemas.vm import VirtualMachine

if TYPE_CHECKING:
    from cimprovider.backends.simulated.store import SimulatedStore

_OUR_SUFFIX = re.compile(r"_[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
Transaction = Callable[[sqlite3.Connection], None]


class SnapshotOperations:
    # Provided by SimulatedBackend.
    _lock: Any
    _store: "SimulatedStore"
    _vms: dict[UUID, VirtualMachine]
    _config: Any
    _idle_vm: Callable[[UUID, str], VirtualMachine]
    _check_open: Callable[[], None]
    _commit: Callable[..., None]
    _merge_frozen: Callable[[UUID, list[str]], None]

    def _load_snapshots(self) -> None:
        self._snapshots: dict[UUID, Snapshot] = {}
        for document in self._store.load_snapshots():
            snapshot = Snapshot.model_validate_json(document)
            self._snapshots[snapshot.id] = snapshot
        self._positions: dict[UUID, SnapshotPosition] = {}
        for document in self._store.load_snapshot_positions():
            position = SnapshotPosition.model_validate_json(document)
            self._positions[position.vm_id] = position
        self._snapshot_disks: dict[str, UUID] = {path: UUID(vm_id) for path, vm_id in self._store.load_snapshot_disks()}
        self._images = ImageService(StorageRoots(self._config.storage_roots))

    # --- reading ---------------------------------------------------------

    def list_snapshots(self, vm_id: UUID | None = None) -> list[Snapshot]:
        return [s for s in self._snapshots.values() if vm_id is None or s.vm_id == vm_id]

    def get_snapshot(self, snapshot_id: UUID) -> Snapshot:
        try:
            return self._snapshots[snapshot_id]
        except KeyError:
            raise NotFoundError(f"no snapshot {snapshot_id}") from None

    def snapshot_position(self, vm_id: UUID) -> SnapshotPosition:
        if vm_id not in self._vms:
            raise NotFoundError(f"no virtual machine {vm_id}")
        return self._positions.get(vm_id) or SnapshotPosition(vm_id=vm_id)

    # --- changing --------------------------------------------------------

    def create_snapshot(
        self,
        vm_id: UUID,
        name: str | None = None,
        kind: SnapshotKind = SnapshotKind.STANDARD,
        snapshot_id: UUID | None = None,
        progress: ProgressCallback | None = None,
    ) -> Snapshot:
        with self._lock:
            self._check_open()
            vm = self._idle_vm(vm_id, "take a snapshot")
            snapshot_id = snapshot_id or uuid4()
            if snapshot_id in self._snapshots:
                raise InvalidStateError(f"a snapshot {snapshot_id} already exists")
            now = datetime.now(timezone.utc)
            position = self.snapshot_position(vm_id)
            frozen = [d for d in vm.drives if self._is_vhd_disk(d)]
            children = self._make_children(frozen, snapshot_id, progress)
            try:
                snapshot = Snapshot(
                    id=snapshot_id, vm_id=vm_id, kind=kind, parent_id=position.current_id, created_at=now, vm=vm,
                    name=name or f"{vm.name} - ({now.astimezone():%d/%m/%Y - %H:%M:%S})",
                    has_saved_state=kind is SnapshotKind.STANDARD and vm.power_state is not PowerState.OFF,
                    frozen_disks=tuple(d.media.path for d in frozen),  # type: ignore[union-attr]
                )  # fmt: skip
                moved = _with_media(vm, children)
                new_position = position.replace(current_id=snapshot_id)
                self._commit(moved, [VmModified(previous=vm, vm=moved)] if moved != vm else [],
                             also=self._recording(snapshot, new_position, added=list(children.values())))  # fmt: skip
            except BaseException:
                self._remove(children.values())
                raise
            self._snapshots[snapshot.id] = snapshot
            self._positions[vm_id] = new_position
            self._snapshot_disks.update(dict.fromkeys(children.values(), vm_id))
            return snapshot

    def discard_unfinished_snapshot(self, vm_id: UUID, snapshot_id: UUID) -> list[str]:
        """Remove the differencing disks a snapshot cut short by a killed
        process made and never recorded (the VM still runs on their
        parents); returns them."""
        with self._lock:
            vm = self._vms.get(vm_id)
            if vm is None or snapshot_id in self._snapshots:
                return []
            made = (_child_path(Path(d.media.path), snapshot_id) for d in vm.drives if d.drive_type is DriveType.DISK and d.media)
            left = [str(path) for path in made if path.is_file() and str(path) not in self._snapshot_disks]
            return self._remove(left)

    def apply_snapshot(self, snapshot_id: UUID, progress: ProgressCallback | None = None) -> VirtualMachine:
        with self._lock:
            self._check_open()
            snapshot = self.get_snapshot(snapshot_id)
            vm = self._idle_vm(snapshot.vm_id, "apply a snapshot")
            if vm.power_state not in (PowerState.OFF, PowerState.SAVED):
                raise InvalidStateError(f"cannot apply a snapshot while the VM is {vm.power_state.value}; turn it off or save it")
            frozen = [d for d in snapshot.vm.drives if d.media is not None and d.media.path in snapshot.frozen_disks]
            children = self._make_children(frozen, uuid4(), progress)
            try:
                end = PowerState.SAVED if snapshot.has_saved_state else PowerState.OFF
                restored = _with_media(snapshot.vm, children).model_copy(update={"power_state": end})
                left = [d.media.path for d in vm.drives if d.media is not None and d.media.path in self._snapshot_disks]
                position = self.snapshot_position(vm.id).replace(current_id=snapshot.id, last_applied_id=snapshot.id)
                events: list[EventBase] = [VmModified(previous=vm, vm=restored)]
                if end is not vm.power_state:
                    events.append(PowerStateChanged(vm_id=vm.id, old=vm.power_state, new=end))
                self._commit(restored, events, started_at=None,
                             also=self._recording(None, position, added=list(children.values())))  # fmt: skip
            except BaseException:
                self._remove(children.values())
                raise
            self._positions[vm.id] = position
            self._snapshot_disks.update(dict.fromkeys(children.values(), vm.id))
            self._forget_unread_disks(vm.id, left)
            return restored

    def destroy_snapshot(self, snapshot_id: UUID, tree: bool = False) -> None:
        """Forget the snapshot(s); a frozen disk only one disk reads through
        is merged with it (see snapshot_merge), the rest go once unread."""
        with self._lock:
            self._check_open()
            snapshot = self.get_snapshot(snapshot_id)
            vm_id = snapshot.vm_id
            doomed = {snapshot_id} | (self._descendants(snapshot_id) if tree else set())
            adopted = [s.replace(parent_id=snapshot.parent_id) for s in self.list_snapshots(vm_id)
                       if s.parent_id in doomed and s.id not in doomed]  # fmt: skip
            candidates = [path for gone in doomed for path in self._snapshots[gone].frozen_disks]
            self._confine_ours(vm_id, candidates)
            position = self.snapshot_position(vm_id)
            if position.current_id in doomed:
                position = position.replace(current_id=snapshot.parent_id)
            if position.last_applied_id in doomed:
                position = position.replace(last_applied_id=None)

            def record(db: sqlite3.Connection) -> None:
                for gone in doomed:
                    self._store.delete_snapshot(db, str(gone))
                for child in adopted:
                    self._store.put_snapshot(db, str(child.id), str(vm_id), child.model_dump_json())
                self._store.put_snapshot_position(db, str(vm_id), position.model_dump_json())

            with self._store.transaction() as db:
                record(db)
            for gone in doomed:
                del self._snapshots[gone]
            for child in adopted:
                self._snapshots[child.id] = child
            self._positions[vm_id] = position
            self._merge_frozen(vm_id, candidates)  # SnapshotMerges
            self._forget_unread_disks(vm_id, candidates)

    def rename_snapshot(self, snapshot_id: UUID, name: str) -> Snapshot:
        with self._lock:
            self._check_open()
            renamed = self.get_snapshot(snapshot_id).replace(name=name)
            with self._store.transaction() as db:
                self._store.put_snapshot(db, str(renamed.id), str(renamed.vm_id), renamed.model_dump_json())
            self._snapshots[renamed.id] = renamed
            return renamed

    def adopt_snapshots(self, vm_id: UUID, snapshots: list[Snapshot], current_id: UUID | None, disks: list[str]) -> None:
        """Snapshots realized from an import (SnapshotAdoption): recorded
        as they are, in one transaction, with `disks` ours to delete later."""
        with self._lock:
            self._check_open()
            self._idle_vm(vm_id, "take in snapshots")
            taken = [s.id for s in snapshots if s.id in self._snapshots]
            if taken:
                raise InvalidParameterError("snapshots", f"a snapshot {taken[0]} already exists")
            position = SnapshotPosition(vm_id=vm_id, current_id=current_id)
            with self._store.transaction() as db:
                for snapshot in snapshots:
                    self._store.put_snapshot(db, str(snapshot.id), str(vm_id), snapshot.model_dump_json())
                self._store.put_snapshot_position(db, str(vm_id), position.model_dump_json())
                for path in disks:
                    self._store.put_snapshot_disk(db, path, str(vm_id))
            self._snapshots.update({s.id: s for s in snapshots})
            self._positions[vm_id] = position
            self._snapshot_disks.update(dict.fromkeys(disks, vm_id))

    def _drop_vm_snapshots(self, db: sqlite3.Connection, vm_id: UUID) -> None:
        """Part of destroying a VM: its snapshots go (its disk files stay)."""
        self._store.delete_vm_snapshots(db, str(vm_id))
        for snapshot in self.list_snapshots(vm_id):
            del self._snapshots[snapshot.id]
        self._positions.pop(vm_id, None)
        for path in [p for p, owner in self._snapshot_disks.items() if owner == vm_id]:
            del self._snapshot_disks[path]

    # --- disks -----------------------------------------------------------

    def _is_vhd_disk(self, drive: Drive) -> bool:
        if drive.drive_type is not DriveType.DISK or drive.media is None:
            return False
        try:
            return self._images.get_settings(Path(drive.media.path)).format is VirtualHardDiskFormat.VHD
        except Exception:  # noqa: BLE001 - missing, outside the roots or not an image: kept by reference
            return False

    def _make_children(self, drives: list[Drive], tag: UUID, progress: ProgressCallback | None) -> dict[UUID, str]:
        """drive id -> a new differencing child of its disk."""
        made: dict[UUID, str] = {}
        try:
            for number, drive in enumerate(drives, start=1):
                parent = Path(drive.media.path)  # type: ignore[union-attr]
                child = _child_path(parent, tag)
                self._images.create(VirtualHardDiskSettings(
                    type=VirtualHardDiskType.DIFFERENCING, format=VirtualHardDiskFormat.VHD, path=child, parent_path=parent))  # fmt: skip
                made[drive.id] = str(child)
                if progress is not None:
                    progress(90 * number // len(drives))
        except BaseException:
            self._remove(made.values())
            raise
        return made

    def _recording(self, snapshot: Snapshot | None, position: SnapshotPosition, added: list[str]) -> Transaction:
        def record(db: sqlite3.Connection) -> None:
            if snapshot is not None:
                self._store.put_snapshot(db, str(snapshot.id), str(snapshot.vm_id), snapshot.model_dump_json())
            self._store.put_snapshot_position(db, str(position.vm_id), position.model_dump_json())
            for path in added:
                self._store.put_snapshot_disk(db, path, str(position.vm_id))

        return record

    def _forget_unread_disks(self, vm_id: UUID, candidates: list[str]) -> None:
        """Delete the candidates snapshots made that no disk of the VM or of
        its snapshots reads any more (directly or as a parent)."""
        ours = [path for path in candidates if self._snapshot_disks.get(path) == vm_id]
        if not ours:
            return
        read: set[Path] = set()
        in_use = [d.media.path for d in self._vms[vm_id].drives if d.media is not None]
        in_use += [path for s in self.list_snapshots(vm_id) for path in s.frozen_disks]
        for path in in_use:
            read.update(self._chain(Path(path)))
        unread = [path for path in dict.fromkeys(ours) if Path(path).resolve() not in read]
        with self._store.transaction() as db:
            for path in unread:
                self._store.delete_snapshot_disk(db, path)
        for path in unread:
            del self._snapshot_disks[path]
        self._remove(unread)

    def _confine_ours(self, vm_id: UUID, paths: list[str]) -> None:
        """Refuse, before anything changes, to go on when a disk the store
        says snapshots made (and so may delete) lies outside the storage
        roots: the record was not written by this server."""
        for path in paths:
            if self._snapshot_disks.get(path) == vm_id:
                self._images.roots.confine(path, "snapshot disk")

    def _remove(self, paths: Any) -> list[str]:
        """Delete the files (missing ones are fine); a path outside the
        storage roots is never deleted, only logged. Returns those inside."""
        return [str(path) for path in paths if self._images.roots.remove(path, "snapshot disk")]

    def _chain(self, path: Path) -> list[Path]:
        found: list[Path] = []
        current: Path | None = path
        while current is not None and len(found) < 64:
            found.append(current.resolve())
            try:
                current = self._images.get_settings(current).parent_path
            except Exception:  # noqa: BLE001 - the chain ends where it cannot be read
                break
        return found

    def _descendants(self, snapshot_id: UUID) -> set[UUID]:
        found: set[UUID] = set()
        frontier = [snapshot_id]
        while frontier:
            parent = frontier.pop()
            for snapshot in self._snapshots.values():
                if snapshot.parent_id == parent and snapshot.id not in found:
                    found.add(snapshot.id)
                    frontier.append(snapshot.id)
        return found


def _with_media(vm: VirtualMachine, paths: dict[UUID, str]) -> VirtualMachine:
    if not paths:
        return vm
    drives = tuple(
        d.replace(media=d.media.replace(path=paths[d.id])) if d.id in paths and d.media is not None else d for d in vm.drives
    )
    return vm.replace(drives=drives)


def _child_path(parent: Path, tag: UUID) -> Path:
    stem = _OUR_SUFFIX.sub("", parent.stem)
    return parent.with_name(f"{stem}_{str(tag).upper()}.avhd")

