"""SQLite as every part persists with it (DESIGN.md): one connection per
thread, WAL so readers never wait for the writer, and one `transaction()`
per logical change, taken with BEGIN IMMEDIATE so two writers never
deadlock upgrading a read lock. The simulated host, the indication store
and the job store each keep their own file through one of these.

A full disk is named here, once, for every store: SQLite's "database or
disk is full" becomes a DiskFullError that says which file could not grow,
so a client reads that the disk is full rather than an internal error.
Each store also marks its file as its own (`FileMarker`), and a file that
is not ours or is damaged is refused before anything is read from it."""

from __future__ import annotations

import errno
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cimprovider.database_files import DatabaseAccessError, DiskFullError, FileMarker, UnusableDatabaseError, check_file

__all__ = ["Database", "DatabaseAccessError", "DiskFullError", "FileMarker", "UnusableDatabaseError", "disk_full_message"]


def disk_full_message(error: BaseException) -> str | None:
    """What to tell a client when `error` is a full disk, else None: the
    data directory's (DiskFullError) or any other file's (ENOSPC)."""
    if isinstance(error, DiskFullError):
        return str(error)
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" (writing {error.filename})" if error.filename is not None else ""
        return f"the disk is full{where}: {error.strerror or 'no space left on device'}"
    if _is_full(error):
        return "the data directory's disk is full"
    return None


def _is_full(error: BaseException) -> bool:
    return isinstance(error, sqlite3.OperationalError) and (
        getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "database or disk is full" in str(error)
    )


class Database:
    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "NORMAL",
        foreign_keys: bool = False,
        timeout: float = 30,
        marker: FileMarker | None = None,
    ) -> None:
        """`synchronous=NORMAL` survives a killed process (the WAL is in the
        OS's hands); FULL also survives a power cut, at a cost per commit.
        With a `marker`, a file that is not the store's own, or is damaged,
        raises UnusableDatabaseError here."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._pragmas = ["PRAGMA journal_mode=WAL", f"PRAGMA synchronous={synchronous}"]
        if foreign_keys:
            self._pragmas.append("PRAGMA foreign_keys=ON")
        self._timeout = timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        if marker is not None:
            check_file(self.path, marker, self._open)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, in autocommit mode (reads need no
        transaction; writes go through `transaction`)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            if self._closed:
                raise sqlite3.ProgrammingError(f"the database {self.path} is closed")
            db = self._open()
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def _open(self) -> sqlite3.Connection:
        # check_same_thread off only so close() may close every thread's
        # connection; each is still used by its own thread alone.
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=self._timeout)
        try:
            for pragma in self._pragmas:
                db.execute(pragma)
        except sqlite3.OperationalError as error:
            db.close()
            if _is_full(error):
                raise DiskFullError(self.path) from error
            raise
        except BaseException:
            db.close()
            raise
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        db = self.connection()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                # SQLite may have rolled back already (a full disk does).
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as error:
            if _is_full(error):
                raise DiskFullError(self.path) from error
            raise

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for db in connections:
            try:
                db.close()
            except sqlite3.ProgrammingError:
                pass  # already closed
        self._local = threading.local()
