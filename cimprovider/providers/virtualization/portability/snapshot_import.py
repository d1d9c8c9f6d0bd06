"""The snapshots an import brings back: read from the SnapshotFolder (or
the export folder's own `Snapshots/`), checked as a whole before anything
is kept, and given new identities with a copy import.

A snapshot file is trusted no more than the definition: its media must be
copies in the export folder (export_folder.read_snapshot), it must belong
to the exported VM, name a parent that is among the snapshots read (or
none), and the parents must form a tree — a cycle or an unknown parent is
refused with 32773, so nothing half-imported is ever recorded."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from cimprovider.backends.images import ImageService
from cimprovider.providers.virtualization.errors import invalid_parameter
from cimprovider.providers.virtualization.portability.export_folder import SNAPSHOT_FOLDER, Definition, read_snapshot
from cimprovider.schemas.snapshots import Snapshot

MAX_SNAPSHOTS = 256  # Hyper-V allows 50 per VM; a folder with far more is not an export


def snapshot_folder(images: ImageService, definition: Definition, given: Any) -> Path | None:
    """The folder to read snapshots from: the one asked for (confined to the
    storage roots), else the export's `Snapshots/` if there is one."""
    if given:
        if Path(os.path.normpath(str(given))).is_symlink():
            raise invalid_parameter("SnapshotFolder", f"{given} is a symbolic link; an export folder holds plain files only")
        folder = images.roots.confine(str(given), "SnapshotFolder")
        if not folder.is_dir():
            raise invalid_parameter("SnapshotFolder", f"{given} is not a directory")
        return folder
    folder = definition.folder / SNAPSHOT_FOLDER
    if folder.is_symlink():
        raise invalid_parameter("SnapshotFolder", f"{folder} is a symbolic link; an export folder holds plain files only")
    return folder if folder.is_dir() else None


def read_snapshots(folder: Path | None, definition: Definition) -> tuple[Snapshot, ...]:
    """Every snapshot in `folder`, oldest first, as a checked tree."""
    if folder is None:
        return ()
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".json")
    if len(files) > MAX_SNAPSHOTS:
        raise invalid_parameter("SnapshotFolder", f"{folder} holds {len(files)} snapshots; at most {MAX_SNAPSHOTS} are read")
    snapshots: dict[UUID, Snapshot] = {}
    for file in files:
        if not stat.S_ISREG(os.lstat(file).st_mode):
            raise invalid_parameter("SnapshotFolder", f"{file} is not a regular file")
        snapshot = read_snapshot(file, definition.folder)
        if snapshot.vm_id != definition.vm.id or snapshot.vm.id != definition.vm.id:
            raise invalid_parameter("SnapshotFolder", f"{file} is a snapshot of another virtual machine ({snapshot.vm_id})")
        if snapshot.id in snapshots:
            raise invalid_parameter("SnapshotFolder", f"{file}: snapshot {snapshot.id} appears twice")
        snapshots[snapshot.id] = snapshot
    for snapshot in snapshots.values():
        if snapshot.parent_id is not None and snapshot.parent_id not in snapshots:
            raise invalid_parameter("SnapshotFolder", f"snapshot {snapshot.id} names an unknown parent {snapshot.parent_id}")
        seen, parent = {snapshot.id}, snapshot.parent_id
        while parent is not None:
            if parent in seen:
                raise invalid_parameter("SnapshotFolder", f"snapshot {snapshot.id} is its own ancestor (a cycle through {parent})")
            seen.add(parent)
            parent = snapshots[parent].parent_id
    if definition.current_snapshot is not None and definition.current_snapshot not in snapshots:
        raise invalid_parameter("SystemDefinitionFile", f"current_snapshot {definition.current_snapshot} is not among the snapshots")
    return tuple(sorted(snapshots.values(), key=lambda s: s.created_at))


def renamed_snapshots(snapshots: tuple[Snapshot, ...], vm_id: UUID, renamed: dict[UUID, UUID],
                      fresh_identity: Any) -> tuple[Snapshot, ...]:
    """The snapshots of a copy: new snapshot GUIDs, the copy's VM GUID, and
    the same new device GUIDs its current configuration got (`renamed`)."""
    def new(old: UUID | None) -> UUID | None:
        return None if old is None else renamed.setdefault(old, uuid4())

    return tuple(s.model_copy(update={"id": new(s.id), "parent_id": new(s.parent_id), "vm_id": vm_id,
                                      "vm": fresh_identity(s.vm, renamed, vm_id)}) for s in snapshots)  # fmt: skip
