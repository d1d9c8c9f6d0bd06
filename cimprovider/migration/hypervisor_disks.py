"""The destination's side of a migration its hypervisor carries (libvirt
copies each disk into an image that must exist, of the same format and
virtual size): the disks' places are checked like uploaded files' (inside
this host's storage roots, not already there) and their empty images are
made with qemu-img before the source's hypervisor starts, each on its
placed backing file if it reads through one (that file is uploaded). A
disk holding internal snapshots is not made: its file is uploaded, the one
file of the offer at its path (see snapshot_images)."""

from __future__ import annotations

import subprocess

from cimprovider.backends.images import StorageRoots
from cimprovider.backends.images.errors import PathOutsideStorageError
from cimprovider.schemas.migration import MigrationOffer

QEMU_IMG_SECONDS = 60


def disk_reasons(offer: MigrationOffer, roots: StorageRoots) -> list[str]:
    found: list[str] = []
    if not offer.disks:
        return found  # the VM travels as uploaded files
    uploaded = {slot.path for slot in offer.files}
    for disk in offer.disks:
        if disk.backing is not None and disk.backing not in uploaded:
            found.append(f"{disk.path}: its backing file {disk.backing} is not among the files offered")
        if (disk.path in uploaded) != bool(disk.snapshots):
            found.append(f"{disk.path}: a disk of a running VM arrives as a file only when it holds snapshots")
        if disk.snapshots:
            continue  # checked as an uploaded file
        try:
            target = roots.confine(disk.path, "disk path")
        except PathOutsideStorageError as error:
            found.append(str(error))
            continue
        if target.exists():
            found.append(f"{disk.path} already exists on the destination host")
    return found


def make_empty_disks(offer: MigrationOffer, roots: StorageRoots) -> None:
    """OSError naming the disk when one cannot be made."""
    for disk in offer.disks:
        if disk.snapshots:
            continue  # uploaded
        target = roots.confine(disk.path, "disk path")
        target.parent.mkdir(parents=True, exist_ok=True)
        # On its placed parent (uploaded, inside the roots), which is not opened (-u) as it may not be there yet.
        backing = ["-u", "-b", str(roots.confine(disk.backing, "backing file")), "-F", disk.backing_format or "raw"] \
            if disk.backing is not None else []
        made = subprocess.run(
            ["qemu-img", "create", "-q", "-f", disk.format, *backing, str(target), str(disk.virtual_size)],
            capture_output=True, text=True, timeout=QEMU_IMG_SECONDS, check=False,
        )
        if made.returncode != 0:
            raise OSError(f"{disk.path}: {made.stderr.strip() or 'qemu-img create failed'}")
