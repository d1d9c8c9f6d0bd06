"""The offer for a running VM the hypervisor moves (see hypervisor_moves):
its disks, which the hypervisor copies, and the files it carries beside
them through the upload channel —

- each disk's parents and the files its snapshots name (an external
  snapshot's frozen disk and overlays, a base image), as they are: none is
  written while the VM runs;
- its external snapshots' memory files;
- a copy of each qcow2 disk that holds internal snapshots, taken as the
  file stands (see snapshot_images).

Each lands where NewResourceSettingData puts it, else beside the placed
disk in its folder (a parent beside its placed child, a memory file
beside the VM's first disk); two files may not land at one path. Each
parent's destination path is named in its child's slot, so the
destination points the child at it before the hypervisor opens it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cimprovider.backends.images import ImageService, StorageRoots
from cimprovider.backends.images.errors import PathOutsideStorageError
from cimprovider.migration.offer import OfferError, Placement, parent_of, sha256_of
from cimprovider.migration.snapshot_images import staged_copy
from cimprovider.schemas.migration import FileSlot, MigratingDisk

UNSTAGED = "0" * 64  # a check offers the files without reading them


@dataclass
class CarriedFiles:
    """What the backend names beside the disks (see migration_files)."""

    images: list[str]
    owned: list[str]
    memories: list[str]


@dataclass
class Uploads:
    """The source files in the order of the offer's files; the copies made
    for it (deleted after); the files that are the VM's alone (deleted
    once the destination has it)."""

    slots: list[FileSlot] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)
    staged: list[Path] = field(default_factory=list)


def place_carried(place: Placement, disks: list[MigratingDisk], carried: CarriedFiles, roots: StorageRoots) -> None:
    """Where each carried file lands, added to `place`."""
    images = ImageService(roots)
    children = {d.path: d.backing for d in disks if d.backing}
    children.update({path: parent_of(path, images) for path in carried.images})
    for child in [d.path for d in disks] + list(reversed(carried.images)):
        parent = children.get(child)
        if parent and place(parent) == parent and place(child) != child:
            place.placements[str(Path(parent))] = str(Path(place(child)).parent / Path(parent).name)
    if carried.memories and not disks:
        raise OfferError("a VM without a disk has no place for its snapshots' memory on the destination host")
    for memory in carried.memories:
        place.placements[str(Path(memory))] = str(Path(place(disks[0].path)).parent / Path(memory).name)


def uploads(place: Placement, disks: list[MigratingDisk], carried: CarriedFiles, roots: StorageRoots,
            stage: bool) -> Uploads:
    """The offer's files; with `stage` read and copied (else, for a check,
    only sized)."""
    landing = [place(p) for p in carried.images + carried.memories] + [place(d.path) for d in disks]
    clashing = [path for i, path in enumerate(landing) if path in landing[:i]]
    if clashing:
        raise OfferError(f"{clashing[0]}: two of the VM's files would land at this one path on the destination host; "
                         "place its disks in folders of their own")
    images = ImageService(roots)
    found = Uploads()
    for path in carried.images + carried.memories:
        parent = parent_of(path, images) if path in carried.images else None
        found.slots.append(FileSlot(path=place(path), size=Path(path).stat().st_size,
                                    sha256=sha256_of(path) if stage else UNSTAGED,
                                    parent=place(parent) if parent else None))
        found.sources.append(Path(path))
    for disk in disks:
        if disk.snapshots:
            found.slots.append(_staged_slot(disk, place, roots, found if stage else None))
    return found


def _staged_slot(disk: MigratingDisk, place: Placement, roots: StorageRoots, found: Uploads | None) -> FileSlot:
    try:
        source = roots.confine(disk.path, "disk path")
    except PathOutsideStorageError as error:
        raise OfferError(f"{disk.path} holds snapshots but cannot be copied beside itself: {error}") from None
    parent = place(disk.backing) if disk.backing else None
    if found is None:
        return FileSlot(path=place(disk.path), size=source.stat().st_size, sha256=UNSTAGED, parent=parent)
    copy = staged_copy(source, roots, secrets.token_hex(4))
    found.staged.append(copy)
    found.sources.append(copy)
    return FileSlot(path=place(disk.path), size=copy.stat().st_size, sha256=sha256_of(str(copy)), parent=parent)
