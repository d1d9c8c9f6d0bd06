"""Start-up removes what killed jobs left under the storage roots — files
and export staging folders named by the partial scheme — and nothing that
merely looks like it."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

from tests.support.live import in_process_server


def test_start_up_removes_partial_files_and_nothing_else(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    folder = data_dir / "storage" / "vms" / "deep"
    folder.mkdir(parents=True)
    tag = uuid4()
    leftovers = [folder / f".disk.vhd.{tag}.partial", data_dir / "storage" / f".export.{uuid4()}.partial"]
    leftovers[0].write_bytes(b"half a disk")
    leftovers[1].mkdir()
    (leftovers[1] / "Virtual Hard Disks").mkdir()
    kept = [
        folder / "disk.vhd",
        folder / f"disk.vhd.{tag}.partial",  # no leading dot
        folder / f".disk.vhd.{str(tag).upper()}.partial",  # not how we write it
        folder / f".disk.vhd.{tag}.partial.bak",
        folder / ".disk.vhd.1234.partial",
    ]
    for path in kept:
        path.write_bytes(b"mine")

    with in_process_server(data_dir):
        pass

    assert [path for path in leftovers if path.exists()] == []
    assert all(path.read_bytes() == b"mine" for path in kept)
