"""SQLite persistence for the simulated host.

One connection per thread, WAL so readers never wait for the writer, and one
`transaction()` per logical change: a VM is one JSON document, so a change
that touches a VM and a counter commits both or neither, and a process
killed at any instant leaves the last committed state. `synchronous=NORMAL`
is safe against a killed process (the WAL is in the OS's hands); only a
power cut may lose the latest commits, never corrupt older ones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from cimprovider.database import Database, FileMarker

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # started_at: when the VM last started (epoch seconds), NULL when not running.
    "CREATE TABLE IF NOT EXISTS vms (id TEXT PRIMARY KEY, document TEXT NOT NULL, started_at REAL)",
    "CREATE TABLE IF NOT EXISTS switches (id TEXT PRIMARY KEY, document TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS snapshots (id TEXT PRIMARY KEY, vm_id TEXT NOT NULL, document TEXT NOT NULL)",
    # Where each VM stands in its snapshot tree (SnapshotPosition as JSON).
    "CREATE TABLE IF NOT EXISTS snapshot_positions (vm_id TEXT PRIMARY KEY, document TEXT NOT NULL)",
    # Differencing disks made by snapshots, which the backend may delete
    # once nothing reads them (never a disk a client gave).
    "CREATE TABLE IF NOT EXISTS snapshot_disks (path TEXT PRIMARY KEY, vm_id TEXT NOT NULL)",
    # Imported definitions not yet realized (PlannedSystem as JSON).
    "CREATE TABLE IF NOT EXISTS planned_systems (id TEXT PRIMARY KEY, document TEXT NOT NULL)",
    # What the simulated hypervisor says of a VM's health (VmCondition as
    # JSON: a crash) until the VM starts again. A reading, not a setting, so
    # not in the VM's document (which is also what exports copy).
    "CREATE TABLE IF NOT EXISTS vm_conditions (vm_id TEXT PRIMARY KEY, document TEXT NOT NULL)",
)
SCHEMA_VERSION = "1"
MARKER = FileMarker(0x43494D48, "host database", frozenset({"meta", "vms"}), "start a new host")  # "CIMH"


class SimulatedStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = Database(path, marker=MARKER)
        with self.transaction() as db:
            for statement in SCHEMA:
                db.execute(statement)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.transaction()

    def read(self) -> sqlite3.Connection:
        return self._db.connection()

    def load_vms(self) -> Iterator[tuple[str, str, float | None]]:
        """Row by row: all 10,000 documents read at once would leave the
        heap they passed through spread over the models built from them."""
        return iter(self.read().execute("SELECT id, document, started_at FROM vms"))

    def load_switches(self) -> list[str]:
        return [row[0] for row in self.read().execute("SELECT document FROM switches ORDER BY rowid")]

    def get_meta(self, key: str) -> str | None:
        row = self.read().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def put_vm(db: sqlite3.Connection, vm_id: str, document: str, started_at: float | None) -> None:
        db.execute(
            "INSERT INTO vms (id, document, started_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE"
            " SET document = excluded.document, started_at = excluded.started_at",
            (vm_id, document, started_at),
        )

    @staticmethod
    def delete_vm(db: sqlite3.Connection, vm_id: str) -> None:
        db.execute("DELETE FROM vms WHERE id = ?", (vm_id,))
        db.execute("DELETE FROM vm_conditions WHERE vm_id = ?", (vm_id,))

    def load_conditions(self) -> dict[str, str]:
        return dict(self.read().execute("SELECT vm_id, document FROM vm_conditions").fetchall())

    @staticmethod
    def put_condition(db: sqlite3.Connection, vm_id: str, document: str | None) -> None:
        """None: the VM is healthy, nothing to keep."""
        if document is None:
            db.execute("DELETE FROM vm_conditions WHERE vm_id = ?", (vm_id,))
        else:
            db.execute("INSERT OR REPLACE INTO vm_conditions VALUES (?, ?)", (vm_id, document))

    def load_snapshots(self) -> list[str]:
        return [row[0] for row in self.read().execute("SELECT document FROM snapshots ORDER BY rowid")]

    def load_snapshot_positions(self) -> list[str]:
        return [row[0] for row in self.read().execute("SELECT document FROM snapshot_positions")]

    def load_snapshot_disks(self) -> list[tuple[str, str]]:
        return self.read().execute("SELECT path, vm_id FROM snapshot_disks").fetchall()

    @staticmethod
    def put_snapshot(db: sqlite3.Connection, snapshot_id: str, vm_id: str, document: str) -> None:
        db.execute(
            "INSERT INTO snapshots (id, vm_id, document) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET document = excluded.document",
            (snapshot_id, vm_id, document),
        )

    @staticmethod
    def delete_snapshot(db: sqlite3.Connection, snapshot_id: str) -> None:
        db.execute("DELETE FROM snapshots WHERE id = ?", (snapshot_id,))

    @staticmethod
    def put_snapshot_position(db: sqlite3.Connection, vm_id: str, document: str) -> None:
        db.execute(
            "INSERT INTO snapshot_positions VALUES (?, ?) ON CONFLICT(vm_id) DO UPDATE SET document = excluded.document",
            (vm_id, document),
        )

    @staticmethod
    def put_snapshot_disk(db: sqlite3.Connection, path: str, vm_id: str) -> None:
        db.execute("INSERT OR REPLACE INTO snapshot_disks VALUES (?, ?)", (path, vm_id))

    @staticmethod
    def delete_snapshot_disk(db: sqlite3.Connection, path: str) -> None:
        db.execute("DELETE FROM snapshot_disks WHERE path = ?", (path,))

    @staticmethod
    def delete_vm_snapshots(db: sqlite3.Connection, vm_id: str) -> None:
        for table in ("snapshots", "snapshot_positions", "snapshot_disks"):
            db.execute(f"DELETE FROM {table} WHERE vm_id = ?", (vm_id,))

    def load_planned_systems(self) -> list[str]:
        return [row[0] for row in self.read().execute("SELECT document FROM planned_systems ORDER BY rowid")]

    @staticmethod
    def put_planned_system(db: sqlite3.Connection, planned_id: str, document: str) -> None:
        db.execute("INSERT INTO planned_systems VALUES (?, ?)", (planned_id, document))

    @staticmethod
    def delete_planned_system(db: sqlite3.Connection, planned_id: str) -> None:
        db.execute("DELETE FROM planned_systems WHERE id = ?", (planned_id,))

    @staticmethod
    def put_switch(db: sqlite3.Connection, switch_id: str, document: str) -> None:
        db.execute(
            "INSERT INTO switches (id, document) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET document = excluded.document",
            (switch_id, document),
        )

    @staticmethod
    def delete_switch(db: sqlite3.Connection, switch_id: str) -> None:
        db.execute("DELETE FROM switches WHERE id = ?", (switch_id,))

    @staticmethod
    def set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
        db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def close(self) -> None:
        self._db.close()
