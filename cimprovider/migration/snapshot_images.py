"""A running VM's qcow2 disk that holds internal snapshots moves in two
parts: the file as it stands on the source (its snapshots inside) through
the upload channel, then the guest-visible disk through the hypervisor's
storage migration, which writes into that file instead of an empty image.

Both sides rely on one property of qcow2: while a VM runs, a snapshot's
structures do not change. Its L1 and L2 tables and clusters are shared
with the active layer and copied on write, and the snapshot table is
written only when a snapshot is taken or deleted, which the source
refuses while the VM moves. So the file read on the source holds every
snapshot whole, whatever the guest wrote meanwhile; only the active
layer and the refcounts may be caught half-written.

On the destination the arrived file is judged from its header before any
tool opens it (no backing file, no external data file, not encrypted),
its active layer is emptied (the guest-visible disk then reads as zeros,
as a fresh image would, until the hypervisor copies the disk into it),
`qemu-img check -r all` rebuilds the refcounts from the snapshots alone,
and the snapshots the source listed must all be there.

A storage move of a running VM on one host prepares its new file the
same way (`prepared_in_place`): the file copied as it is on disk to the
new path, then prepared as if it had arrived."""

from __future__ import annotations

import shutil
from pathlib import Path

from cimprovider.backends.images import ImageError, ImageService, QemuImg, StorageRoots, detect_format
from cimprovider.backends.images.qcow2_header import MAGIC as QCOW2_MAGIC, empty_active_layer, read_qcow2_header
from cimprovider.migration.arrived_parents import QEMU_NAMES, is_qcow2, set_parent
from cimprovider.schemas.migration import MigratingDisk

STAGING_FOLDER = ".migrating-out"  # in each storage root: copies made for an upload, swept at start


class ArrivedImageRefused(Exception):
    """The uploaded image cannot be the VM's disk; the message says why."""


def staged_copy(disk: Path, roots: StorageRoots, tag: str) -> Path:
    """A copy of the running VM's disk (a real path inside `roots`), read
    as it is on disk, so its size and SHA-256 can be offered and then hold
    while it uploads; in its storage root's staging folder, on the disk's
    own file system as a rule, where a restart finds what a kill left."""
    root = next(r for r in roots.roots if disk.is_relative_to(r))
    copy = root / STAGING_FOLDER / f"{tag}-{disk.name}"
    copy.parent.mkdir(exist_ok=True)
    shutil.copyfile(disk, copy)
    return copy


def sweep_staged(roots: StorageRoots) -> None:
    """At start: no upload runs yet, so every staged copy is a leftover."""
    for root in roots.roots:
        folder = root / STAGING_FOLDER
        if folder.is_dir() and not folder.is_symlink():
            for copy in folder.iterdir():
                if copy.is_file() and not copy.is_symlink():
                    copy.unlink()


def prepare_arrived_image(path: Path, disk: MigratingDisk, images: ImageService | None = None) -> None:
    """`disk.backing`, if set, is its placed parent (confined, uploaded
    before it): the image is pointed at it before any tool opens it."""
    tool = images.qemu_img if images is not None else QemuImg(timeout=600)
    try:
        header = read_qcow2_header(path)
    except (ImageError, OSError) as error:
        raise ArrivedImageRefused(f"{disk.path}: {error}") from None
    if (header.backing_file is None) != (disk.backing is None):
        named = header.backing_file or "none"
        raise ArrivedImageRefused(f"{disk.path}: the image names a backing file ({named}) where the offer "
                                  f"names {disk.backing or 'none'}")
    if header.data_file is not None:
        raise ArrivedImageRefused(f"{disk.path}: the image keeps its data in another file ({header.data_file})")
    if header.encrypted:
        raise ArrivedImageRefused(f"{disk.path}: an encrypted image cannot be prepared for the hypervisor's copy")
    if disk.backing is not None:
        if images is None:
            raise ArrivedImageRefused(f"{disk.path}: no storage roots to place its backing file in")
        set_parent(images, path, Path(disk.backing))
    empty_active_layer(path)
    try:
        tool.run(["check", "-q", "-r", "all", "-f", "qcow2", str(path)], subject=path)
        info = tool.info(path, "qcow2")
    except ImageError as error:
        raise ArrivedImageRefused(f"{disk.path}: {error}") from None
    if info.virtual_size != disk.virtual_size:
        raise ArrivedImageRefused(f"{disk.path}: {info.virtual_size} bytes, the disk offered has {disk.virtual_size}")
    found = {s.get("name") for s in info.raw.get("snapshots", [])}
    missing = [name for name in disk.snapshots if name not in found]
    if missing:
        raise ArrivedImageRefused(f"{disk.path}: the snapshot(s) {', '.join(missing)} are not in the image")


def prepared_in_place(old: Path, new: Path, parent: str | None, images: ImageService) -> bool:
    """For a storage move on one host of a running VM (held: no snapshot is
    taken or deleted meanwhile): `old`, a qcow2 holding internal
    snapshots, copied to `new` (both confined by the caller) and prepared
    for the hypervisor's copy into it, reading through `parent` (its
    placed backing file) if any. False, and nothing written, for a disk
    that holds no snapshot, or is no qcow2: the hypervisor makes its image itself."""
    with open(old, "rb") as image:
        if image.read(4) != QCOW2_MAGIC:
            return False
    try:
        info = images.qemu_img.info(old, "qcow2", shared=True)
    except ImageError as error:
        raise ArrivedImageRefused(f"{old}: {error}") from None
    names = tuple(str(s.get("name")) for s in info.raw.get("snapshots", []))
    if not names:
        return False
    shutil.copyfile(old, new)
    disk = MigratingDisk(path=str(old), format="qcow2", virtual_size=info.virtual_size, snapshots=names, backing=parent)
    prepare_arrived_image(new, disk, images)
    return True


def overlay_on_moved_chain(old: Path, new: Path, parent: Path, images: ImageService) -> None:
    """For a storage move on one host of a running VM whose disk `old` is a
    qcow2 reading through files that move as files (an external snapshot's
    frozen disk, older overlays): `new` made as an empty qcow2 of `old`'s
    size over `parent` (its moved backing file; all three confined by the
    caller), for the hypervisor to copy `old`'s own clusters into. Nothing
    under `new` is written: the guest reads the same bytes there."""
    try:
        size = images.qemu_img.info(old, "qcow2", shared=True).virtual_size
        fmt = "qcow2" if is_qcow2(parent) else QEMU_NAMES[detect_format(parent, images.qemu_img)]
        images.qemu_img.run(["create", "-q", "-f", "qcow2", "-b", str(parent), "-F", fmt, str(new), str(size)],
                            subject=new)
    except ImageError as error:
        raise ArrivedImageRefused(f"{old}: no overlay can be made on its moved backing file {parent}: {error}") from None
