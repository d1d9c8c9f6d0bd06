"""SQLite persistence of filters, destinations, subscriptions, the
service's settings and the deliveries not yet acknowledged by a listener.

One connection per thread, WAL, one transaction per change (as DESIGN.md
asks): CRUD runs in the engine's worker threads, the router inserts
pending deliveries and each destination's worker deletes them."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from cimprovider.database import Database, FileMarker

from cimprovider.indications.records import (
    DeliverySettings,
    DestinationRecord,
    FilterRecord,
    SubscriptionRecord,
    properties_from_json,
    properties_to_json,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS filters (name TEXT PRIMARY KEY, properties TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS destinations (name TEXT PRIMARY KEY, properties TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions (
    filter_name TEXT NOT NULL REFERENCES filters(name),
    handler_name TEXT NOT NULL REFERENCES destinations(name),
    properties TEXT NOT NULL,
    PRIMARY KEY (filter_name, handler_name));
CREATE TABLE IF NOT EXISTS settings (id INTEGER PRIMARY KEY CHECK (id = 1),
    retry_attempts INTEGER, retry_interval REAL, removal_action INTEGER,
    removal_interval REAL, filter_creation_enabled INTEGER);
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    destination TEXT NOT NULL,
    filter_name TEXT NOT NULL,
    created REAL NOT NULL,
    body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS pending_by_destination ON pending(destination, id);
"""


@dataclass(slots=True)
class PendingDelivery:
    """One export request waiting for its listener; `created` is wall-clock
    seconds, so a restart keeps the retry window of what it reloads."""

    id: int
    destination: str
    filter_name: str
    created: float
    body: bytes
    attempts: int = 0


MARKER = FileMarker(
    0x43494D49,  # "CIMI"
    "indication store",
    frozenset({"filters", "destinations", "subscriptions"}),
    "start with no indication subscriptions",
)


class SubscriptionStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = Database(path, foreign_keys=True, timeout=10, marker=MARKER)
        # executescript commits on its own; the statements are idempotent.
        self._connection().executescript(SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        return self._db.connection()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.transaction()

    def close(self) -> None:
        self._db.close()

    # --- filters, destinations, subscriptions ---------------------------

    def filters(self) -> list[FilterRecord]:
        rows = self._connection().execute("SELECT name, properties FROM filters ORDER BY name")
        return [FilterRecord(name, properties_from_json(p)) for name, p in rows]

    def destinations(self) -> list[DestinationRecord]:
        rows = self._connection().execute("SELECT name, properties FROM destinations ORDER BY name")
        return [DestinationRecord(name, properties_from_json(p)) for name, p in rows]

    def subscriptions(self) -> list[SubscriptionRecord]:
        rows = self._connection().execute(
            "SELECT filter_name, handler_name, properties FROM subscriptions ORDER BY filter_name, handler_name"
        )
        return [SubscriptionRecord(f, h, properties_from_json(p)) for f, h, p in rows]

    def put_filter(self, record: FilterRecord, replace: bool = False) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        with self.transaction() as db:
            db.execute(f"{verb} INTO filters VALUES (?, ?)", (record.name, properties_to_json(record.properties)))

    def put_destination(self, record: DestinationRecord, replace: bool = False) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        with self.transaction() as db:
            db.execute(
                f"{verb} INTO destinations VALUES (?, ?)", (record.name, properties_to_json(record.properties))
            )

    def put_subscription(self, record: SubscriptionRecord, replace: bool = False) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        with self.transaction() as db:
            db.execute(
                f"{verb} INTO subscriptions VALUES (?, ?, ?)",
                (record.filter_name, record.handler_name, properties_to_json(record.properties)),
            )

    def delete_filter(self, name: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM filters WHERE name = ?", (name,))

    def delete_destination(self, name: str) -> None:
        # Its undelivered indications have nowhere to go any more.
        with self.transaction() as db:
            db.execute("DELETE FROM pending WHERE destination = ?", (name,))
            db.execute("DELETE FROM destinations WHERE name = ?", (name,))

    def delete_subscription(self, key: tuple[str, str]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM subscriptions WHERE filter_name = ? AND handler_name = ?", key)

    # --- settings ---------------------------------------------------------

    def settings(self) -> DeliverySettings | None:
        row = self._connection().execute(
            "SELECT retry_attempts, retry_interval, removal_action, removal_interval, filter_creation_enabled "
            "FROM settings WHERE id = 1"
        ).fetchone()
        if row is None:
            return None
        return DeliverySettings(row[0], row[1], row[2], row[3], bool(row[4]))

    def put_settings(self, s: DeliverySettings) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO settings VALUES (1, ?, ?, ?, ?, ?)",
                (s.retry_attempts, s.retry_interval, s.removal_action, s.removal_interval, int(s.filter_creation_enabled)),
            )

    # --- pending deliveries ----------------------------------------------

    def add_pending(self, items: list[tuple[str, str, float, bytes]]) -> list[int]:
        """Store (destination, filter name, created, body) rows in one
        transaction; return their ids in order."""
        ids: list[int] = []
        with self.transaction() as db:
            for item in items:
                ids.append(db.execute(
                    "INSERT INTO pending (destination, filter_name, created, body) VALUES (?, ?, ?, ?)", item
                ).lastrowid)
        return ids

    def remove_pending(self, ids: list[int]) -> None:
        if not ids:
            return
        with self.transaction() as db:
            db.executemany("DELETE FROM pending WHERE id = ?", [(i,) for i in ids])

    def pending(self) -> list[PendingDelivery]:
        rows = self._connection().execute(
            "SELECT id, destination, filter_name, created, body FROM pending ORDER BY id"
        )
        return [PendingDelivery(*row) for row in rows]

    def pending_count(self, destination: str | None = None) -> int:
        if destination is None:
            return self._connection().execute("SELECT count(*) FROM pending").fetchone()[0]
        return self._connection().execute(
            "SELECT count(*) FROM pending WHERE destination = ?", (destination,)
        ).fetchone()[0]
