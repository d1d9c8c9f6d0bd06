"""Reserving a fixed disk's blocks on the host file system.

qemu-img and our own VHD code make a fixed disk by setting the file's
length, which leaves a sparse file: no space is taken, so a fixed disk
larger than the free space is "made" and the guest meets ENOSPC later.
Hyper-V allocates a fixed disk whole and refuses it when the space is not
there; `allocate` does the same with posix_fallocate (which reserves
blocks reading as zeros, so the contents do not change).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from cimprovider.backends.images.errors import ImageError, InsufficientSpaceError

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def allocate(fd: int, offset: int, length: int, subject: Path) -> None:
    """Reserve [offset, offset + length) of the open file; InsufficientSpaceError
    naming `subject` (the disk the client asked for), what it needs and what
    is free when the file system cannot hold it."""
    if length <= 0:
        return
    free = free_bytes(fd)
    held = os.fstat(fd).st_blocks * 512
    try:
        os.posix_fallocate(fd, offset, length)
    except OSError as error:
        if error.errno in _NO_SPACE:
            needed = max(0, offset + length - held)
            raise InsufficientSpaceError(
                f"{subject}: not enough space for a fixed disk: it needs {needed} more bytes "
                f"on its file system, which has {free} bytes free"
            ) from None
        raise ImageError(f"{subject}: could not allocate the fixed disk's space: {error.strerror}") from None


def allocate_file(path: Path, subject: Path) -> None:
    """Reserve every byte of the file at `path`."""
    fd = os.open(path, os.O_RDWR)
    try:
        allocate(fd, 0, os.fstat(fd).st_size, subject)
        os.fsync(fd)
    finally:
        os.close(fd)


def require_free(folder: Path, needed: int, subject: Path) -> None:
    """Refuse before any writing when `folder`'s file system plainly cannot
    hold `needed` more bytes (the allocation afterwards is what guarantees it)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        free = free_bytes(fd)
    finally:
        os.close(fd)
    if needed > free:
        raise InsufficientSpaceError(
            f"{subject}: not enough space for a fixed disk: it needs {needed} bytes "
            f"on its file system, which has {free} bytes free"
        )


def free_bytes(fd: int) -> int:
    stats = os.fstatvfs(fd)
    return stats.f_bavail * stats.f_frsize
