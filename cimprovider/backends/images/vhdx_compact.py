"""Compacting a dynamic VHDX: the blocks that hold only zeros are given
back, as Hyper-V's CompactVirtualHardDisk does.

The disk is copied into a new VHDX beside it by `qemu-img convert`, which
reads every block and writes none that reads as zeros, with the
original's block size; the copy takes the original's physical sector size
(qemu-img writes 512) and is renamed over it only when it is whole and
smaller, so a kill leaves the old disk as it was. Throughout, the original
is locked as QEMU locks an image (read, sharing no write): a VM cannot
start writing it between the copy and the rename. The copy has new VHDX
identifiers, as after a resize (see `vhdx`): no differencing VHDX here
depends on them.

qemu's VHDX writer has 512-byte logical sectors only; a disk with 4 KiB
logical sectors is refused rather than changed under its guest."""

from __future__ import annotations

import os
from pathlib import Path

from cimprovider.backends.images import file_locks
from cimprovider.backends.images.errors import ImageError, InvalidImageParameterError
from cimprovider.backends.images.partial_files import partial_name
from cimprovider.backends.images.qemu_img import ProgressCallback, QemuImg
from cimprovider.backends.images.vhdx import read_parameters, set_physical_sector_size

QEMU_LOGICAL_SECTOR = 512


def compact(path: Path, tool: QemuImg, progress: ProgressCallback | None = None) -> None:
    path = Path(path)
    before = read_parameters(path)
    if before.fixed:
        raise InvalidImageParameterError("path", f"{path} is a fixed disk; only dynamic and differencing disks compact")
    if before.has_parent:
        raise InvalidImageParameterError("path", f"{path} is a differencing VHDX, which is not supported")
    if before.logical_sector_size != QEMU_LOGICAL_SECTOR:
        raise InvalidImageParameterError(
            "path", f"{path} has {before.logical_sector_size}-byte logical sectors; only VHDX disks of "
                    f"{QEMU_LOGICAL_SECTOR}-byte logical sectors are compacted here")
    compacted = partial_name(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        file_locks.acquire(fd, path, file_locks.READING)
        options = {"subformat": "dynamic", "block_size": str(before.block_size)}
        tool.convert(path, compacted, "vhdx", source_format="vhdx", options=options, progress=progress)
        set_physical_sector_size(compacted, before.physical_sector_size)
        if compacted.stat().st_size < os.fstat(fd).st_size:
            os.replace(compacted, path)
    except OSError as error:
        raise ImageError(f"{path}: compaction failed: {error}") from error
    finally:
        compacted.unlink(missing_ok=True)
        os.close(fd)
