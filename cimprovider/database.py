"""SQLite as every part persists with it (DESIGN.md): one connection per
thread, WAL so readers never wait for the writer, and one `transaction()`
per logical change, taken with BEGIN IMMEDIATE so two writers never
deadlock upgrading a read lock. The simulated host, the indication store
and the job store each keep their own file through one of these."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Database:
    def __init__(self, path: Path, *, synchronous: str = "NORMAL", foreign_keys: bool = False, timeout: float = 30) -> None:
        """`synchronous=NORMAL` survives a killed process (the WAL is in the
        OS's hands); FULL also survives a power cut, at a cost per commit."""
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

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, in autocommit mode (reads need no
        transaction; writes go through `transaction`)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            if self._closed:
                raise sqlite3.ProgrammingError(f"the database {self.path} is closed")
            # check_same_thread off only so close() may close every thread's
            # connection; each is still used by its own thread alone.
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=self._timeout)
            for pragma in self._pragmas:
                db.execute(pragma)
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

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
