"""Image locks that QEMU understands.

QEMU (qemu-img, qemu-io and a running VM alike) marks an open image with
open-file-description byte locks: byte 100+i held means "I use permission
i", byte 200+i held means "I refuse to share permission i". Taking the same
locks when we read or write a VHD ourselves means a VM using the disk stops
us (ImageInUseError) and our merge stops a VM from starting on the disk
mid-way, without any other bookkeeping. They vanish with the descriptor, so a
killed process leaves nothing behind.
"""

from __future__ import annotations

import fcntl
import os
import struct

from cimprovider.backends.images.errors import ImageInUseError

CONSISTENT_READ = 0
WRITE = 1
WRITE_UNCHANGED = 2
RESIZE = 3
_ALL = (CONSISTENT_READ, WRITE, WRITE_UNCHANGED, RESIZE)
_PERM_BASE = 100
_SHARED_BASE = 200
# struct flock on Linux x86-64 and arm64: short, short, off_t, off_t, pid_t.
_FLOCK = struct.Struct("hhxxxxqqixxxx")

READING = (frozenset({CONSISTENT_READ}), frozenset({CONSISTENT_READ, WRITE_UNCHANGED, RESIZE}))
WRITING = (frozenset({CONSISTENT_READ, WRITE, RESIZE}), frozenset({CONSISTENT_READ, WRITE_UNCHANGED}))


def _held_by_other(fd: int, byte: int) -> bool:
    probe = _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, byte, 1, 0)
    answer = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, probe)
    return _FLOCK.unpack(answer)[0] != fcntl.F_UNLCK


def _lock(fd: int, byte: int) -> None:
    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _FLOCK.pack(fcntl.F_RDLCK, os.SEEK_SET, byte, 1, 0))


def conflicts(fd: int, perms: frozenset[int], shared: frozenset[int]) -> list[str]:
    """What others hold that stops us using `perms` while sharing `shared`."""
    names = {CONSISTENT_READ: "read", WRITE: "write", WRITE_UNCHANGED: "write-unchanged", RESIZE: "resize"}
    found = []
    for perm in perms:
        if _held_by_other(fd, _SHARED_BASE + perm):
            found.append(f"another process does not share {names[perm]} access")
    for perm in set(_ALL) - shared:
        if _held_by_other(fd, _PERM_BASE + perm):
            found.append(f"another process has {names[perm]} access")
    return found


def acquire(fd: int, path: object, mode: tuple[frozenset[int], frozenset[int]]) -> None:
    perms, shared = mode
    found = conflicts(fd, perms, shared)
    if found:
        raise ImageInUseError(f"{path} is in use: {', '.join(found)}")
    for perm in perms:
        _lock(fd, _PERM_BASE + perm)
    for perm in set(_ALL) - shared:
        _lock(fd, _SHARED_BASE + perm)


def in_use(path: os.PathLike[str] | str) -> bool:
    """True when some process holds the image for writing, or forbids it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return bool(conflicts(fd, WRITING[0], WRITING[1]))
    finally:
        os.close(fd)
