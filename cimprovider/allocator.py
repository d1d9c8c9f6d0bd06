"""How the C allocator gives memory back, tuned for a server whose large
replies come and go.

glibc serves a block over its mmap threshold (128 KiB) from a mapping of
its own, returned to the system when freed; but the first such block freed
raises the threshold to its size (up to 32 MiB), so from then on a reply's
megabyte buffers come from the heap, small objects made meanwhile land
above them, and the heap can no longer shrink: when enumerations were
built as one reply, 10,000 VMs kept some 60 MB more after a few of them.
Kept replies now leave in chunks, but ExecQuery, associations and pulls
still build large buffers. A fixed threshold stops that drift, and a low
trim threshold hands freed heap tops back at once.

Settings given in the environment (MALLOC_MMAP_THRESHOLD_,
MALLOC_TRIM_THRESHOLD_) win; on another C library nothing changes."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
LARGE_BLOCK = 128 * 1024
"""glibc's own starting threshold: a block this size or larger is mapped."""


def give_back_large_blocks() -> bool:
    """Fix glibc's mmap and trim thresholds; True when they were set here."""
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") or os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    # mallopt returns 1 on success; musl and others lack it or ignore it.
    done = mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK) == 1 and mallopt(M_TRIM_THRESHOLD, LARGE_BLOCK) == 1
    if not done:
        log.debug("the C library refused the mmap and trim thresholds")
    return done
