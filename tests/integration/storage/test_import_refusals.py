"""Hostile, corrupt and truncated export folders: ImportSystemDefinition
refuses each with a failed job (32773 invalid, 32779 missing) whose message
names what is wrong, and leaves nothing behind — no planned system and no
file anywhere in the server's storage."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cimprovider.backends.images.vhd_chain import create_differencing
from tests.integration.storage.transfer_client import definition_file, export, refused
from tests.integration.storage.vhd_client import MIB, create
from tests.integration.storage.vm_client import vm_with_disk
from tests.support.untouched import assert_untouched, fingerprint

Spoil = Callable[[Path, Path], None]  # (export folder, a folder outside it)


def edit(change: Callable[[dict], None]) -> Spoil:
    def spoil(folder: Path, _outside: Path) -> None:
        file = definition_file(folder)
        document = json.loads(file.read_text())
        change(document)
        file.write_text(json.dumps(document))

    return spoil


def media(path: str) -> Spoil:
    def change(document: dict) -> None:
        document["vm"]["drives"][0]["media"]["path"] = path

    return edit(change)


def symlinked_disk(folder: Path, outside: Path) -> None:
    disk = folder / "Virtual Hard Disks" / "disk.vhd"
    shutil.move(disk, outside / "disk.vhd")
    disk.symlink_to(outside / "disk.vhd")


def symlinked_definition(folder: Path, _outside: Path) -> None:
    """A link to a file elsewhere in the storage roots."""
    file = definition_file(folder)
    shutil.move(file, folder.parent / file.name)
    file.symlink_to(folder.parent / file.name)


def truncated_definition(folder: Path, _outside: Path) -> None:
    file = definition_file(folder)
    file.write_bytes(file.read_bytes()[:200])


def truncated_disk(folder: Path, _outside: Path) -> None:
    disk = folder / "Virtual Hard Disks" / "disk.vhd"
    os.truncate(disk, disk.stat().st_size // 2)


def not_a_disk(folder: Path, _outside: Path) -> None:
    (folder / "Virtual Hard Disks" / "disk.vhd").write_bytes(b"\0" * 4 * MIB)


def missing_disk(folder: Path, _outside: Path) -> None:
    (folder / "Virtual Hard Disks" / "disk.vhd").unlink()


def directory_as_disk(folder: Path, _outside: Path) -> None:
    disk = folder / "Virtual Hard Disks" / "disk.vhd"
    disk.unlink()
    disk.mkdir()


CASES: dict[str, tuple[Spoil, int, str]] = {
    "dotdot": (media("Virtual Hard Disks/../../../../etc/passwd"), 32773, "leaves or winds through"),
    "absolute": (media("/etc/passwd"), 32773, "not a path relative"),
    "windows absolute": (media("C:\\Windows\\system.vhd"), 32773, "not a path relative"),
    "other folder": (media("Snapshots/disk.vhd"), 32773, "is not a file in 'Virtual Hard Disks'"),
    "symlinked disk": (symlinked_disk, 32773, "symbolic link"),
    "symlinked definition": (symlinked_definition, 32773, "symbolic link"),
    "wrong type": (edit(lambda d: d["vm"]["processor"].update(count="many")), 32773, "processor.count"),
    "unknown field": (edit(lambda d: d["vm"].update(hostile=True)), 32773, "hostile"),
    "media of wrong type": (edit(lambda d: d["vm"]["drives"][0].update(media=["x"])), 32773, "drives[0].media"),
    "unknown version": (edit(lambda d: d.update(version=99)), 32773, "format version 99"),
    "foreign format": (edit(lambda d: d.update(format="vmcx")), 32773, "is not a cimprovider.virtual-machine"),
    "truncated definition": (truncated_definition, 32773, "truncated or corrupt"),
    "truncated disk": (truncated_disk, 32773, "disk.vhd"),
    "not a disk": (not_a_disk, 32773, "not a virtual hard disk"),
    "missing disk": (missing_disk, 32779, "does not exist"),
    "directory as disk": (directory_as_disk, 32773, "not a regular file"),
    "data root outside": (edit(lambda d: d["vm"].update(configuration_data_root="/etc")), 32773,
                          "ConfigurationDataRoot /etc lies outside the storage roots"),
    "snapshot data root outside": (edit(lambda d: d["vm"].update(snapshot_data_root="/etc/../etc")), 32773,
                                   "SnapshotDataRoot /etc/../etc lies outside the storage roots"),
}


@pytest.fixture(scope="module")
def exported(server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.integration.model.hyperv import NS

    conn = server.connection(NS)
    folder = server.data_dir / "storage" / "refusal-source"
    folder.mkdir()
    create(conn, folder / "disk.vhd", "dynamic", size=4 * MIB)
    vm = vm_with_disk(conn, "victim", folder / "disk.vhd")
    export(conn, vm, folder)
    return folder / "victim"


def everything_in(root: Path) -> set[Path]:
    return {path for path in root.rglob("*")}


@pytest.mark.parametrize("case", list(CASES))
def test_a_spoilt_export_is_refused_and_leaves_nothing(conn, server, exported: Path, root: Path, tmp_path: Path, case: str) -> None:
    spoil, code, words = CASES[case]
    folder = root / "victim"
    shutil.copytree(exported, folder)
    spoil(folder, tmp_path)
    storage = server.data_dir / "storage"
    before = everything_in(storage)
    found, message = refused(conn, "ImportSystemDefinition", SystemDefinitionFile=str(definition_file(folder)),
                             SnapshotFolder=None, GenerateNewSystemIdentifier=True)
    assert (found, words in message) == (code, True), message
    assert "SystemDefinitionFile" in message
    assert conn.EnumerateInstanceNames("Msvm_PlannedComputerSystem") == []
    assert everything_in(storage) == before


def test_a_definition_outside_the_storage_roots_is_refused(conn, exported: Path, tmp_path: Path) -> None:
    shutil.copytree(exported, tmp_path / "victim")
    code, message = refused(conn, "ImportSystemDefinition", SystemDefinitionFile=str(definition_file(tmp_path / "victim")),
                            SnapshotFolder=None, GenerateNewSystemIdentifier=True)
    assert code == 32773 and "storage roots" in message
    assert conn.EnumerateInstanceNames("Msvm_PlannedComputerSystem") == []


def test_a_differencing_disk_reading_outside_the_folder_is_refused(conn, server, exported: Path, root: Path) -> None:
    folder = root / "victim"
    shutil.copytree(exported, folder)
    outside = root / "parent.vhd"
    create(conn, outside, "dynamic", size=4 * MIB)
    disk = folder / "Virtual Hard Disks" / "disk.vhd"
    disk.unlink()
    create(conn, disk, "differencing", size=None, ParentPath=str(outside))
    code, message = refused(conn, "ImportSystemDefinition", SystemDefinitionFile=str(definition_file(folder)),
                            SnapshotFolder=None, GenerateNewSystemIdentifier=True)
    assert code == 32773 and "outside the export folder" in message
    assert conn.EnumerateInstanceNames("Msvm_PlannedComputerSystem") == []


def test_a_differencing_disk_whose_parent_is_outside_the_roots_is_refused_unread(conn, exported: Path, root: Path,
                                                                                   tmp_path: Path) -> None:
    """A crafted disk (made with our own VHD writer) whose locators name a
    file outside the storage roots: the import names that file and never
    opens it."""
    folder = root / "victim"
    shutil.copytree(exported, folder)
    outside = tmp_path / "host-parent.vhd"
    shutil.copyfile(folder / "Virtual Hard Disks" / "disk.vhd", outside)
    disk = folder / "Virtual Hard Disks" / "disk.vhd"
    disk.unlink()
    create_differencing(disk, outside)
    before = fingerprint(outside)
    code, message = refused(conn, "ImportSystemDefinition", SystemDefinitionFile=str(definition_file(folder)),
                            SnapshotFolder=None, GenerateNewSystemIdentifier=True)
    assert code == 32773 and str(outside) in message and "storage roots" in message, message
    assert conn.EnumerateInstanceNames("Msvm_PlannedComputerSystem") == []
    assert_untouched(outside, before)
