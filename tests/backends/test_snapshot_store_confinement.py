"""A snapshot's disks are deleted only inside the storage roots. The store
names the disks snapshots made (and so may delete); a record changed behind
the server's back, pointing at a file elsewhere, must not make the server
delete that file: destroying the snapshot is refused with an error naming
the path, and the file survives."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest

from cimprovider.backends.images import PathOutsideStorageError
from tests.backends.test_snapshots import backend, disk, harness, vm_with_disk  # noqa: F401 - fixtures

__all__ = ["backend", "disk", "harness"]


def _tamper(database: Path, sql: str, *args: object) -> None:
    with sqlite3.connect(database) as db:
        db.execute(sql, args)
    db.close()


def test_a_tampered_snapshot_disk_outside_the_roots_is_not_deleted(harness, backend, disk: Path, tmp_path: Path) -> None:
    vm_id = vm_with_disk(backend, disk)
    backend.create_snapshot(vm_id, "first")
    second = backend.create_snapshot(vm_id, "second")
    backend.close()
    precious = tmp_path / "elsewhere" / "precious.txt"
    precious.parent.mkdir()
    precious.write_text("not the server's to delete")
    database = harness.config.database_path
    document = json.loads(sqlite3.connect(database).execute("SELECT document FROM snapshots WHERE id = ?", (str(second.id),)).fetchone()[0])
    document["frozen_disks"] = [str(precious)]
    _tamper(database, "UPDATE snapshots SET document = ? WHERE id = ?", json.dumps(document), str(second.id))
    _tamper(database, "INSERT INTO snapshot_disks VALUES (?, ?)", str(precious), str(vm_id))

    reopened = harness.open()
    with pytest.raises(PathOutsideStorageError) as refused:
        reopened.destroy_snapshot(second.id)
    assert str(precious) in str(refused.value) and "storage roots" in str(refused.value)
    assert precious.read_text() == "not the server's to delete"
    assert reopened.get_snapshot(second.id).name == "second"  # nothing changed


def test_an_unfinished_snapshot_beside_a_tampered_drive_path_is_not_deleted(harness, backend, disk: Path, tmp_path: Path) -> None:
    vm_id = vm_with_disk(backend, disk)
    backend.close()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    database = harness.config.database_path
    document = json.loads(sqlite3.connect(database).execute("SELECT document FROM vms WHERE id = ?", (str(vm_id),)).fetchone()[0])
    document["drives"][0]["media"]["path"] = str(outside / "system.vhd")
    _tamper(database, "UPDATE vms SET document = ? WHERE id = ?", json.dumps(document), str(vm_id))
    tag = "0B3E2A7C-1111-4222-8333-444455556666"
    victim = outside / f"system_{tag}.avhd"
    victim.write_text("a file outside the roots")

    reopened = harness.open()
    assert reopened.discard_unfinished_snapshot(vm_id, UUID(tag)) == []
    assert victim.read_text() == "a file outside the roots"
