"""A disk that arrives as a file with its parent (a differencing VHD's,
a qcow2's backing file) names the parent by its path on the source; the
commit points it at where the parent was placed here. Until then nothing
follows the name: an arrived qcow2 is judged from its header bytes, and
one that names a file the offer does not carry as its parent (a backing
file anywhere else, an external data file) is refused naming that file."""

from __future__ import annotations

from pathlib import Path

from cimprovider.backends.images import ImageError, ImageService, detect_format
from cimprovider.backends.images.qcow2_header import MAGIC, read_qcow2_header
from cimprovider.schemas.images import VirtualHardDiskFormat
from cimprovider.schemas.migration import FileSlot

QEMU_NAMES = {VirtualHardDiskFormat.VHD: "vpc", VirtualHardDiskFormat.VHDX: "vhdx",
               VirtualHardDiskFormat.QCOW2: "qcow2", VirtualHardDiskFormat.RAW: "raw"}


class ArrivedFileRefused(Exception):
    """The uploaded file cannot be kept; the message says why."""


def is_qcow2(path: Path) -> bool:
    with open(path, "rb") as image:
        return image.read(4) == MAGIC


def check_named_files(path: Path, slot: FileSlot) -> None:
    if not is_qcow2(path):
        return
    try:
        header = read_qcow2_header(path)
    except (ImageError, OSError) as error:
        raise ArrivedFileRefused(f"{slot.path}: {error}") from None
    if header.data_file is not None:
        raise ArrivedFileRefused(f"{slot.path}: the image keeps its data in another file ({header.data_file})")
    if header.backing_file is not None and slot.parent is None:
        raise ArrivedFileRefused(f"{slot.path}: the image names a backing file ({header.backing_file}) "
                                 "that the migration does not carry")


def set_parent(images: ImageService, child: Path, parent: Path) -> None:
    """`child` reads through `parent` (both placed, inside the roots): a
    VHD's locators are rewritten, a qcow2's backing file name is, unsafely
    (-u: the data is the same, only the name changes, and the old name is
    never opened)."""
    if not is_qcow2(child):
        images.set_parent(child, parent, ignore_id_mismatch=False)
        return
    child = images.roots.confine(child, "disk path")
    parent = images.roots.confine(parent, "parent path")
    # Read from the content: a VHD parent named raw would hand the guest its container.
    fmt = "qcow2" if is_qcow2(parent) else QEMU_NAMES[detect_format(parent, images.qemu_img)]
    images.qemu_img.run(["rebase", "-u", "-f", "qcow2", "-F", fmt, "-b", str(parent), str(child)], subject=child)
