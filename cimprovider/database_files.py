"""Knowing our own SQLite files. Each store stamps its file with its own
`PRAGMA application_id`; at start-up a file that is empty (zero bytes),
not SQLite, another program's, or damaged (`PRAGMA quick_check`) is
refused with one line naming it, instead of being taken for a new, empty
store — a host whose VMs would all look gone. A file written before the
stamp existed is recognised by its tables and stamped."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


_ROOM = 1 << 20  # below this much free space, an I/O error on open is the full disk


@dataclass(frozen=True)
class FileMarker:
    application_id: int  # PRAGMA application_id: four bytes naming the store
    what: str  # "host database", "job store"…, for messages
    tables: frozenset[str]  # an unstamped file with these tables is ours from before the stamp
    fresh_start: str  # what moving the file away gives: "start a new host"


class DiskFullError(Exception):
    """A write to the data directory failed for want of space."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"the data directory's disk is full ({path})")
        self.path = path


class DatabaseAccessError(Exception):
    """The file could not be read at all (I/O error, permissions): nothing
    is said about its content, which may well be sound."""

    def __init__(self, path: Path, error: BaseException) -> None:
        super().__init__(f"cannot open {path}: {error}")
        self.path = path


class UnusableDatabaseError(Exception):
    """The file is there but cannot be this store's: the server must not start."""

    def __init__(self, path: Path, marker: FileMarker, why: str) -> None:
        super().__init__(
            f"{path} is not a cimprovider {marker.what} ({why}): "
            f"move it away to {marker.fresh_start}, or restore it from a backup"
        )
        self.path = path
        self.why = why


def check_file(path: Path, marker: FileMarker, connect: Callable[[], sqlite3.Connection]) -> None:
    """Refuse `path` unless it is missing (a fresh store, stamped now) or
    carries the marker (or the tables of an unstamped file of ours)."""
    existed = path.exists()
    if existed and path.stat().st_size == 0:
        raise UnusableDatabaseError(path, marker, "zero bytes")
    try:
        db = connect()
    except sqlite3.DatabaseError as error:
        raise _refusal(path, marker, error) from None
    try:
        _check_open_file(db, path, marker, existed)
    except sqlite3.DatabaseError as error:
        raise _refusal(path, marker, error) from None
    finally:
        db.close()


def _refusal(path: Path, marker: FileMarker, error: sqlite3.DatabaseError) -> Exception:
    """Only SQLite's own verdict on the content makes the file unusable; a
    full disk or an I/O error says nothing about it, and telling the user
    to move a sound host database away would be the worst advice."""
    code = (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        return UnusableDatabaseError(path, marker, f"damaged or not SQLite: {error}")
    if code in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR) and shutil.disk_usage(path.parent).free < _ROOM:
        return DiskFullError(path)
    return DatabaseAccessError(path, error)


def _check_open_file(db: sqlite3.Connection, path: Path, marker: FileMarker, existed: bool) -> None:
    stamp = db.execute("PRAGMA application_id").fetchone()[0]
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if stamp not in (0, marker.application_id):
        raise UnusableDatabaseError(path, marker, f"foreign schema: application_id {stamp:#010x}")
    if stamp == 0 and tables and not marker.tables <= tables:
        raise UnusableDatabaseError(path, marker, "foreign schema: tables " + ", ".join(sorted(tables)))
    if stamp == 0 and not tables and existed:
        raise UnusableDatabaseError(path, marker, "foreign schema: an SQLite file without tables")
    problems = [row[0] for row in db.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        raise UnusableDatabaseError(path, marker, "damaged: " + "; ".join(problems))
    if stamp == 0:
        db.execute(f"PRAGMA application_id = {marker.application_id:d}")
