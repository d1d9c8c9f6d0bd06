"""A small file system of its own (tmpfs, mounted by root) under a folder,
for what happens when a disk does not fit; unmounted however the test ends."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_filesystem(folder: Path, size_mib: int) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.fail("mounting a small tmpfs needs root: run the suite as tests/run.sh does, as root")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0755", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def allocated(path: Path) -> int:
    """Bytes the file takes on its file system (not its length)."""
    return os.stat(path).st_blocks * 512
