"""Every file an image reads through, confined before any tool opens it.

A qcow2 names its backing file in its header and a differencing VHD its
parent in its locators; whoever made the file chose those names. A qcow2
may also keep the guest's clusters in an external data file its header
names, which qemu-img opens even for `info`: that name is read from the
header bytes and confined before any tool sees the image. qemu-img
follows a backing file by itself (check, convert, commit, create -b), and so
does QEMU when a VM runs on the image, so the whole chain is walked first
— each qcow2 level with `qemu-img info`, which reads one header and opens
no backing file, each VHD level with our own reader — and every link is
confined to the storage roots before it is opened. A link that leaves them
refuses the image, naming it; a link that is missing or does not match ends
the walk, since the operation itself reports that the way it always has.
"""

from __future__ import annotations

from pathlib import Path

from cimprovider.backends.images.errors import (
    CorruptImageError,
    ImageNotFoundError,
    PathOutsideStorageError,
)
from cimprovider.backends.images.formats import QEMU_FORMAT, detect_format
from cimprovider.backends.images.qcow2_header import MAGIC as QCOW2_MAGIC
from cimprovider.backends.images.qcow2_header import read_qcow2_header
from cimprovider.backends.images.qemu_img import QemuImg
from cimprovider.backends.images.storage_roots import StorageRoots
from cimprovider.backends.images.vhd_chain import MAX_CHAIN_DEPTH, open_parent
from cimprovider.backends.images.vhd_file import VhdFile
from cimprovider.backends.images.vhd_format import DiskType

# Formats whose images never name another file that qemu would open.
_SELF_CONTAINED = {"raw", "vhdx"}


def confined_chain(path: Path, roots: StorageRoots, qemu_img: QemuImg, field: str = "path") -> list[Path]:
    """`path` and the files under it, top first, each the real path inside
    `roots`; PathOutsideStorageError naming the first link that leaves them."""
    chain = [roots.confine(path, field)]
    _confine_data_file(chain[0], roots, field)
    fmt = QEMU_FORMAT[detect_format(chain[0], qemu_img)]
    while fmt not in _SELF_CONTAINED:
        if len(chain) > MAX_CHAIN_DEPTH:
            raise CorruptImageError(path, [f"parent chain deeper than {MAX_CHAIN_DEPTH}"])
        if fmt == "vpc":
            return chain + _vhd_parents(chain[-1], roots)
        info = qemu_img.info(chain[-1], fmt, shared=True)
        backing = info.raw.get("full-backing-filename") or info.backing_filename
        if not backing:
            break
        parent = _confined_link(chain[-1], backing, roots, field)
        if parent in chain:
            raise CorruptImageError(path, [f"backing chain loops back to {parent}"])
        if not parent.is_file():
            break
        _confine_data_file(parent, roots, field)
        chain.append(parent)
        # Without a recorded format qemu probes the backing file: so do we.
        fmt = info.raw.get("backing-filename-format") or qemu_img.info(parent, shared=True).format
    return chain


def _vhd_parents(top: Path, roots: StorageRoots) -> list[Path]:
    """The VHD parents under `top`, without taking locks (a running VM may
    hold them); the walk stops at a parent that is missing or mismatched."""
    found: list[Path] = []
    image = VhdFile.open(top, lock=False)
    try:
        while image.disk_type is DiskType.DIFFERENCING and len(found) <= MAX_CHAIN_DEPTH:
            try:
                parent = open_parent(image, roots, lock=False)
            except (ImageNotFoundError, CorruptImageError):
                break
            image.close()
            image = parent
            if image.path in found or image.path == top:
                raise CorruptImageError(top, [f"parent chain loops back to {image.path}"])
            found.append(image.path)
    finally:
        image.close()
    return found


def _confined_link(child: Path, backing: str, roots: StorageRoots, field: str) -> Path:
    try:
        return roots.confine(backing, field)
    except PathOutsideStorageError as error:
        raise PathOutsideStorageError(field, f"{child}'s backing file: {error.reason}") from None


def _confine_data_file(image: Path, roots: StorageRoots, field: str) -> None:
    """PathOutsideStorageError if `image` is a qcow2 whose external data
    file lies outside the roots, or is left for the opener to name."""
    try:
        with open(image, "rb") as file:
            if file.read(4) != QCOW2_MAGIC:
                return
    except OSError:
        return  # the tools report an unreadable image as they always have
    data_file = read_qcow2_header(image).data_file
    if data_file is None:
        return
    if data_file.startswith("("):  # the external data file bit without a name
        raise PathOutsideStorageError(field, f"{image} keeps its data in an external file it does not name")
    try:
        roots.confine(image.parent / data_file, field)  # qemu takes a relative name from the image's folder
    except PathOutsideStorageError as error:
        raise PathOutsideStorageError(field, f"{image}'s data file: {error.reason}") from None
