"""`cimprovider serve` over a data directory whose files are not its own:
an empty, foreign or damaged store is refused with one line naming the
file and what to do, and exit code 65; missing files start a fresh host,
and a file written before the stores stamped their files is still read."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import pywbem

from tests.support.live import said, serve_process

UNUSABLE_DATA_FILE = 65
NAMES = ("simulated.sqlite3", "jobs.sqlite3", "indications.sqlite3")


def serve_once(data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cimprovider.cli", "serve", "--port", "0", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def foreign(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO photos (name) VALUES ('holiday')")
    db.close()


def damaged(path: Path) -> None:
    """A real store of ours whose pages were partly overwritten."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT)")
        db.executemany("INSERT INTO filler (text) VALUES (?)", [("x" * 500,) for _ in range(200)])
    db.close()
    data = bytearray(path.read_bytes())
    page = 4096
    data[3 * page : 3 * page + 600] = b"\xa5" * 600
    data[6 * page + 8 : 6 * page + 2000] = b"\x00\xff" * 996
    path.write_bytes(bytes(data))


def refused(data_dir: Path, name: str, why: str) -> None:
    result = serve_once(data_dir)
    lines = said(result.stderr)
    assert result.returncode == UNUSABLE_DATA_FILE, result.stderr
    assert len(lines) == 1, result.stderr
    assert str(data_dir / name) in lines[0]
    assert why in lines[0]
    assert "move it away" in lines[0] and "restore it from a backup" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", NAMES)
def test_zero_byte_store_is_refused(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    refused(tmp_path, name, "zero bytes")


@pytest.mark.parametrize("name", NAMES)
def test_foreign_sqlite_file_is_refused(tmp_path, name):
    foreign(tmp_path / name)
    refused(tmp_path, name, "foreign schema")
    with sqlite3.connect(tmp_path / name) as db:  # left as it was
        assert db.execute("SELECT name FROM photos").fetchall() == [("holiday",)]


@pytest.mark.parametrize("name", NAMES)
def test_damaged_store_is_refused(tmp_path, name):
    damaged(tmp_path / name)
    refused(tmp_path, name, "damaged")


@pytest.mark.parametrize("name", NAMES)
def test_text_file_in_place_of_a_store_is_refused(tmp_path, name):
    (tmp_path / name).write_text("not a database at all, but long enough to look like a file header\n" * 20)
    refused(tmp_path, name, "damaged or not SQLite")


def test_another_store_of_ours_in_the_wrong_place_is_refused(tmp_path):
    with serve_process("--port", "0", "--data-dir", str(tmp_path / "first")) as served:
        served.stop()
    (tmp_path / "second").mkdir()
    (tmp_path / "second" / "simulated.sqlite3").write_bytes((tmp_path / "first" / "jobs.sqlite3").read_bytes())
    refused(tmp_path / "second", "simulated.sqlite3", "foreign schema")


def test_missing_files_start_fresh_and_old_unstamped_files_are_kept(tmp_path):
    with serve_process("--port", "0", "--data-dir", str(tmp_path)) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace="root/virtualization/v2", timeout=30)
        assert [cs["Caption"] for cs in conn.EnumerateInstances("Msvm_ComputerSystem")] == ["Hosting Computer System"]
        assert served.stop() == 0
    # A host database written before files were stamped: the same tables, no stamp.
    with sqlite3.connect(tmp_path / "simulated.sqlite3") as db:
        db.execute("PRAGMA application_id = 0")
        db.execute("INSERT INTO meta VALUES ('witness', 'kept')")
    db.close()
    with serve_process("--port", "0", "--data-dir", str(tmp_path)) as served:
        assert served.stop() == 0
    with sqlite3.connect(tmp_path / "simulated.sqlite3") as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'witness'").fetchone() == ("kept",)
        assert db.execute("PRAGMA application_id").fetchone()[0] != 0
    db.close()
