"""The source's offer: every file the VM and its snapshots read (disks,
their parents — a differencing VHD's, a qcow2's backing file —, snapshot
disks, ISOs), each placed on the destination —
where NewResourceSettingData puts it, beside its placed child (a
snapshot's or a parent's disk goes with the VM's disk it belongs to), or
at its own path — with its size and SHA-256; and the VM record with its
paths rewritten to those places."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cimprovider.backends.images import ImageError, ImageService, PathOutsideStorageError
from cimprovider.backends.images.qcow2_header import MAGIC as QCOW2_MAGIC, read_qcow2_header
from cimprovider.schemas.migration import FileSlot, MigratingVm, MigrationOffer
from cimprovider.schemas.vm import VirtualMachine


class OfferError(Exception):
    """The VM cannot be offered as it is; the message says why."""


def drive_paths(vm: VirtualMachine) -> list[str]:
    return [d.media.path for d in vm.drives if d.media is not None]


def source_files(record: MigratingVm, images: ImageService) -> list[str]:
    """Every file to carry, each parent before its children."""
    named: list[str] = drive_paths(record.vm)
    for snapshot in record.snapshots:
        named += drive_paths(snapshot.vm) + list(snapshot.frozen_disks)
    named += list(record.snapshot_disks)
    if record.saved_state is not None:
        named.append(record.saved_state)
    named += list(record.snapshot_memory)
    ordered: list[str] = []
    for path in dict.fromkeys(named):
        for link in reversed(_chain(path, images)):
            if link not in ordered:
                ordered.append(link)
    return ordered


def _chain(path: str, images: ImageService) -> list[str]:
    """`path` and its parents, child first."""
    found = [path]
    if not Path(path).is_file():
        raise OfferError(f"{path}: the file is missing on the source host")
    parent = parent_of(path, images)
    while parent is not None and parent not in found:
        found.append(parent)
        parent = parent_of(parent, images)
    return found


def parent_of(path: str, images: ImageService) -> str | None:
    if _is_qcow2(path):
        return _backing_file(path, images)
    if not path.lower().endswith((".vhd", ".avhd")):
        return None
    try:
        settings = images.get_settings(Path(path))
    except Exception as error:  # noqa: BLE001 - a broken chain is the offer's failure
        raise OfferError(f"{path}: {error}") from None
    return str(settings.parent_path) if settings.parent_path is not None else None


def _is_qcow2(path: str) -> bool:
    try:
        with open(path, "rb") as image:
            return image.read(4) == QCOW2_MAGIC
    except OSError:
        return False


def _backing_file(path: str, images: ImageService) -> str | None:
    """A qcow2's backing file (relative to the image's folder when the
    header names it so), confined to the storage roots before it is read."""
    try:
        header = read_qcow2_header(Path(path))
    except (ImageError, OSError) as error:
        raise OfferError(f"{path}: {error}") from None
    if header.data_file is not None:
        raise OfferError(f"{path}: the image keeps its data in another file ({header.data_file}), which does not move")
    if header.backing_file is None:
        return None
    backing = Path(path).parent / header.backing_file
    try:
        return str(images.roots.confine(backing, "backing file"))
    except PathOutsideStorageError as error:
        raise OfferError(f"{path}'s backing file: {error}") from None


class Placement:
    """Where each source file lands: as placed, else beside the placed disk
    whose folder it shares, else at its own path."""

    def __init__(self, placements: dict[str, str]) -> None:
        self.placements = {str(Path(k)): str(Path(v)) for k, v in placements.items()}
        self.folders = {str(Path(k).parent): str(Path(v).parent) for k, v in self.placements.items()}

    def __call__(self, path: str) -> str:
        given = str(Path(path))
        if given in self.placements:
            return self.placements[given]
        folder = self.folders.get(str(Path(given).parent))
        return str(Path(folder) / Path(given).name) if folder is not None else given


def placed_record(record: MigratingVm, place: Placement, files: list[str] | None = None) -> MigratingVm:
    """`record` with its paths placed; `files` (every file that travels)
    are named in `placed_paths` too, as the hypervisor's descriptions name
    frozen disks, overlays and memory files."""
    def vm_placed(vm: VirtualMachine) -> VirtualMachine:
        drives = tuple(
            d.model_copy(update={"media": d.media.model_copy(update={"path": place(d.media.path)})}) if d.media else d
            for d in vm.drives
        )
        return vm.model_copy(update={"drives": drives})

    snapshots = tuple(
        s.model_copy(update={"vm": vm_placed(s.vm), "frozen_disks": tuple(map(place, s.frozen_disks))})
        for s in record.snapshots
    )
    named = drive_paths(record.vm) + [p for s in record.snapshots for p in drive_paths(s.vm)] + list(files or ())
    return record.model_copy(update={
        "vm": vm_placed(record.vm), "snapshots": snapshots, "snapshot_disks": tuple(map(place, record.snapshot_disks)),
        "snapshot_memory": tuple(map(place, record.snapshot_memory)),
        "placed_paths": {path: place(path) for path in named} if record.definition is not None else {},
        "saved_state": place(record.saved_state) if record.saved_state is not None else None,
    })


def place_saved_state(record: MigratingVm, place: Placement) -> None:
    """A memory image the hypervisor keeps in its own directory (a saved
    VM's, an external snapshot's) lands beside the VM's first disk on the
    destination, where its storage roots are; a VM without a disk has no
    such place."""
    if record.saved_state is None and not record.snapshot_memory:
        return
    disks = drive_paths(record.vm)
    if not disks:
        raise OfferError(f"VM {record.vm.id}: a VM without a disk has no place for its saved memory (or its snapshots') "
                         "on the destination host; give it a disk, or turn it off and delete its snapshots")
    beside = Path(place(disks[0])).parent
    if record.saved_state is not None:
        place.placements[str(Path(record.saved_state))] = str(beside / f"{record.vm.id}.save")
    for memory in record.snapshot_memory:
        place.placements[str(Path(memory))] = str(beside / Path(memory).name)


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def build_offer(
    record: MigratingVm, images: ImageService, placements: dict[str, str], source_host: str, backend: str,
    allow_overwrite: bool,
) -> tuple[MigrationOffer, list[str]]:
    """The offer, and the source paths in the order of its files."""
    place = Placement(placements)
    place_saved_state(record, place)
    files = source_files(record, images)
    parents = {path: parent_of(path, images) for path in files}
    for path in reversed(files):  # children first: a parent lands beside its placed child
        parent = parents[path]
        if parent is not None and place(parent) == parent and place(path) != path:
            place.placements[str(Path(parent))] = str(Path(place(path)).parent / Path(parent).name)
    slots: list[FileSlot] = []
    for path in files:
        parent = parents[path]
        slots.append(FileSlot(path=place(path), size=Path(path).stat().st_size, sha256=sha256_of(path),
                              parent=place(parent) if parent is not None else None))
    clashing = [slot.path for i, slot in enumerate(slots) if slot.path in {s.path for s in slots[:i]}]
    if clashing:
        raise OfferError(f"{clashing[0]}: two of the VM's files would land at this one path on the destination host; "
                         "place its disks in folders of their own")
    offer = MigrationOffer(source_host=source_host, backend=backend, record=placed_record(record, place, files),
                           files=tuple(slots), allow_overwrite=allow_overwrite)
    return offer, files
