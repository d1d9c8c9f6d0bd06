"""Proof that a file outside the storage roots was neither read, written nor
deleted: its content, its modification time and its access time, taken
after the access time is set well before the modification time (so that a
relatime mount records the next read)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Fingerprint:
    digest: str
    mtime_ns: int
    atime_ns: int


def fingerprint(path: Path) -> Fingerprint:
    """Call before the operation under test (it resets the access time)."""
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_mtime_ns - 10**12, stat.st_mtime_ns))
    return _taken(path)


def assert_untouched(path: Path, before: Fingerprint) -> None:
    assert path.is_file(), f"{path} was deleted"
    after = _taken(path)
    assert after.digest == before.digest, f"{path} was written"
    assert after.mtime_ns == before.mtime_ns, f"{path} was modified"
    assert after.atime_ns == before.atime_ns, f"{path} was read"


def _taken(path: Path) -> Fingerprint:
    stat = os.stat(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    # Reading the content above moved the access time on: put it back.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return Fingerprint(digest, stat.st_mtime_ns, stat.st_atime_ns)
