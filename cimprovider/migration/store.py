"""The migrations in flight, persisted in `<data_dir>/migrations.sqlite3`
so a host that restarts finishes or undoes each one.

Outgoing (this host is the source), by VM: the phase it reached —
`preparing` (nothing sent yet), `sending` (the destination holds a
token and files), `committing` (the destination was asked to adopt the
VM; only the destination can say whether it did) — the destination, the
token and the source files to delete once the destination has the VM.

Moves (storage moving on this host), by VM: each file's old and new
path; until the VM points at the new ones, the copies are not the host's.

The migration service's settings as ModifyServiceSettings last left them.

Incoming (this host is the destination), by token: the offer, whether
its files have arrived, and which of its paths already held a file when
it was accepted (AllowOverwriteExistingFile; on storage both hosts see,
the source's own disk). Until the VM is adopted the files are not the
host's; a restart removes them, save those that were there before."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from cimprovider.database import Database

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS outgoing (vm_id TEXT PRIMARY KEY, phase TEXT NOT NULL, destination TEXT NOT NULL,"
    " token TEXT, source_files TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS incoming (token TEXT PRIMARY KEY, vm_id TEXT NOT NULL, offer TEXT NOT NULL,"
    " received TEXT NOT NULL)",
    # An incoming migration's paths that held a file before it came: an abort leaves them.
    "CREATE TABLE IF NOT EXISTS incoming_found (token TEXT NOT NULL, path TEXT NOT NULL)",
    # Storage moving on this host: each file's old and new path, until the
    # VM points at the new ones (then the old go) or the move is undone.
    "CREATE TABLE IF NOT EXISTS moves (vm_id TEXT NOT NULL, old TEXT NOT NULL, new TEXT NOT NULL)",
    # What ModifyServiceSettings last set (one row, JSON): it outlives a restart.
    "CREATE TABLE IF NOT EXISTS service_settings (id INTEGER PRIMARY KEY CHECK (id = 1), settings TEXT NOT NULL)",
)


@dataclass(frozen=True)
class Outgoing:
    vm_id: UUID
    phase: str
    destination: str
    token: str | None
    source_files: tuple[str, ...]


@dataclass(frozen=True)
class Incoming:
    token: str
    vm_id: UUID
    offer: str
    received: frozenset[int]
    found: frozenset[str] = frozenset()  # paths that held a file before the offer was accepted


class MigrationStore:
    def __init__(self, path: Path) -> None:
        self._db = Database(path)
        with self._db.transaction() as db:
            for statement in SCHEMA:
                db.execute(statement)

    def close(self) -> None:
        self._db.close()

    # --- the service's settings

    def put_service_settings(self, values: dict[str, object]) -> None:
        with self._db.transaction() as db:
            db.execute("INSERT OR REPLACE INTO service_settings VALUES (1, ?)", (json.dumps(values),))

    def service_settings(self) -> dict[str, object] | None:
        row = self._db.connection().execute("SELECT settings FROM service_settings WHERE id = 1").fetchone()
        return json.loads(row[0]) if row else None

    # --- outgoing

    def put_outgoing(self, record: Outgoing) -> None:
        with self._db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO outgoing VALUES (?, ?, ?, ?, ?)",
                (str(record.vm_id), record.phase, record.destination, record.token, json.dumps(record.source_files)),
            )

    def drop_outgoing(self, vm_id: UUID) -> None:
        with self._db.transaction() as db:
            db.execute("DELETE FROM outgoing WHERE vm_id = ?", (str(vm_id),))

    def outgoing(self) -> list[Outgoing]:
        rows = self._db.connection().execute("SELECT vm_id, phase, destination, token, source_files FROM outgoing")
        return [Outgoing(UUID(v), p, d, t, tuple(json.loads(f))) for v, p, d, t, f in rows.fetchall()]

    # --- incoming

    def put_incoming(self, record: Incoming) -> None:
        with self._db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO incoming VALUES (?, ?, ?, ?)",
                (record.token, str(record.vm_id), record.offer, json.dumps(sorted(record.received))),
            )
            db.execute("DELETE FROM incoming_found WHERE token = ?", (record.token,))
            db.executemany("INSERT INTO incoming_found VALUES (?, ?)", [(record.token, p) for p in sorted(record.found)])

    def mark_received(self, token: str, index: int) -> None:
        with self._db.transaction() as db:
            row = db.execute("SELECT received FROM incoming WHERE token = ?", (token,)).fetchone()
            if row is not None:
                received = sorted(set(json.loads(row[0])) | {index})
                db.execute("UPDATE incoming SET received = ? WHERE token = ?", (json.dumps(received), token))

    def drop_incoming(self, token: str) -> None:
        with self._db.transaction() as db:
            db.execute("DELETE FROM incoming WHERE token = ?", (token,))
            db.execute("DELETE FROM incoming_found WHERE token = ?", (token,))

    def incoming(self, token: str | None = None) -> list[Incoming]:
        where, args = (" WHERE token = ?", (token,)) if token else ("", ())
        connection = self._db.connection()
        rows = connection.execute("SELECT token, vm_id, offer, received FROM incoming" + where, args).fetchall()
        found: dict[str, set[str]] = {}
        for t, path in connection.execute("SELECT token, path FROM incoming_found" + where, args).fetchall():
            found.setdefault(t, set()).add(path)
        return [Incoming(t, UUID(v), o, frozenset(json.loads(r)), frozenset(found.get(t, ()))) for t, v, o, r in rows]

    # --- moves

    def put_moves(self, vm_id: UUID, moves: list[tuple[str, str]]) -> None:
        with self._db.transaction() as db:
            db.executemany("INSERT INTO moves VALUES (?, ?, ?)", [(str(vm_id), old, new) for old, new in moves])

    def drop_moves(self, vm_id: UUID) -> None:
        with self._db.transaction() as db:
            db.execute("DELETE FROM moves WHERE vm_id = ?", (str(vm_id),))

    def moves(self) -> dict[UUID, list[tuple[str, str]]]:
        found: dict[UUID, list[tuple[str, str]]] = {}
        for vm_id, old, new in self._db.connection().execute("SELECT vm_id, old, new FROM moves").fetchall():
            found.setdefault(UUID(vm_id), []).append((old, new))
        return found
