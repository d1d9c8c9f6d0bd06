"""Snapshots travel with an export: each snapshot's configuration and its
disks (flattened, one standalone copy per snapshot) go into the folder;
an import brings back the same tree, and applying an imported snapshot
restores its disk content (read with qemu-io and libvhdi). Hostile
snapshot files are refused with 32773 and leave nothing behind."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pywbem import CIMInstance

from tests.backends.images.readers import qemu_io, read_with_libvhdi
from tests.integration.model.hyperv import check, service
from tests.integration.storage.snapshots_client import guest_writes, snapshot_service, take
from tests.integration.storage.transfer_client import definition_file, export, import_planned, realize, refused
from tests.integration.storage.vhd_client import MIB, create
from tests.integration.storage.vm_client import disk_paths, vm_with_disk


def rename(conn, snapshot, name: str) -> None:
    check(conn, conn.InvokeMethod("ModifySystemSettings", service(conn), SystemSettings=CIMInstance(
        "Msvm_VirtualSystemSettingData", properties={"InstanceID": snapshot["InstanceID"], "ElementName": name}).tocimxmlstr()))


def tree(conn, vm) -> dict[str, tuple[str | None, str]]:
    """name -> (parent's name, VirtualSystemType) of each snapshot of the VM."""
    found = conn.Associators(vm, AssocClass="Msvm_SnapshotOfVirtualSystem", ResultClass="Msvm_VirtualSystemSettingData")
    by_id = {s["InstanceID"]: s["ElementName"] for s in found}
    parent = {s["ElementName"]: next((n for i, n in by_id.items() if s["Parent"] and i in s["Parent"]), None) for s in found}
    return {s["ElementName"]: (parent[s["ElementName"]], s["VirtualSystemType"]) for s in found}


def snapshot_named(conn, vm, name: str):
    found = conn.AssociatorNames(vm, AssocClass="Msvm_SnapshotOfVirtualSystem", ResultClass="Msvm_VirtualSystemSettingData")
    return next(s for s in found if conn.GetInstance(s)["ElementName"] == name)


def apply(conn, snapshot) -> None:
    check(conn, conn.InvokeMethod("ApplySnapshot", snapshot_service(conn), Snapshot=snapshot))


def content(conn, vm, scratch: Path) -> list[int]:
    data = read_with_libvhdi(Path(disk_paths(conn, vm)[0]), scratch, 0, 4 * MIB)
    return [data[i * MIB] if data[i * MIB:(i + 1) * MIB] == bytes([data[i * MIB]]) * MIB else -1 for i in range(4)]


@pytest.fixture
def branching(conn, root: Path):
    """A VM with snapshots first -> second and first -> branch; it stands on branch."""
    base = root / "system.vhd"
    create(conn, base, "dynamic", size=4 * MIB)
    qemu_io(base, "vpc", "write -P 0x01 0 1M")
    vm = vm_with_disk(conn, "branching", base)
    first = take(conn, vm)
    rename(conn, first, "first")
    guest_writes(conn, vm, 1, 0x02)
    second = take(conn, vm)
    rename(conn, second, "second")
    guest_writes(conn, vm, 2, 0x03)
    apply(conn, first)
    guest_writes(conn, vm, 3, 0x04)
    branch = take(conn, vm)
    rename(conn, branch, "branch")
    guest_writes(conn, vm, 2, 0x05)
    return vm


def test_the_tree_and_its_disks_come_back(conn, root: Path, tmp_path: Path, branching) -> None:
    vm = branching
    export(conn, vm, root / "out", CopySnapshotConfiguration=0)
    folder = root / "out" / "branching"
    copies = sorted((folder / "Virtual Hard Disks").iterdir())
    assert len(copies) == 4 and len(list((folder / "Snapshots").glob("*.json"))) == 3
    for copy in copies:  # each standalone: qemu reads it without any parent
        qemu_io(copy, "vpc", "read -P 0x01 0 1M")

    copy = realize(conn, import_planned(conn, definition_file(folder), new_id=True))
    assert tree(conn, copy) == tree(conn, vm) == {
        "first": (None, "Microsoft:Hyper-V:Snapshot:Realized"),
        "second": ("first", "Microsoft:Hyper-V:Snapshot:Realized"),
        "branch": ("first", "Microsoft:Hyper-V:Snapshot:Realized")}
    current = conn.AssociatorNames(copy, AssocClass="Msvm_MostCurrentSnapshotInBranch")
    assert [conn.GetInstance(c)["ElementName"] for c in current] == ["branch"]
    assert content(conn, copy, tmp_path / "m0") == [1, 0, 5, 4]
    apply(conn, snapshot_named(conn, copy, "second"))
    assert content(conn, copy, tmp_path / "m1") == [1, 2, 0, 0]
    apply(conn, snapshot_named(conn, copy, "first"))
    assert content(conn, copy, tmp_path / "m2") == [1, 0, 0, 0]
    apply(conn, snapshot_named(conn, copy, "branch"))
    assert content(conn, copy, tmp_path / "m3") == [1, 0, 0, 4]
    assert content(conn, vm, tmp_path / "m4") == [1, 0, 5, 4]  # the source is untouched


def test_one_snapshot_travels_alone(conn, root: Path, tmp_path: Path, branching) -> None:
    second = snapshot_named(conn, branching, "second")
    export(conn, branching, root / "one", CopySnapshotConfiguration=2, SnapshotVirtualSystem=str(second))
    folder = root / "one" / "branching"
    assert len(list((folder / "Snapshots").glob("*.json"))) == 1
    copy = realize(conn, import_planned(conn, definition_file(folder), new_id=True))
    assert tree(conn, copy) == {"second": (None, "Microsoft:Hyper-V:Snapshot:Realized")}
    apply(conn, snapshot_named(conn, copy, "second"))
    assert content(conn, copy, tmp_path / "m") == [1, 2, 0, 0]


Spoil = Callable[[list[dict]], None]


def escaping(documents: list[dict]) -> None:
    drive = next(d for d in documents[0]["snapshot"]["vm"]["drives"] if d.get("media"))
    documents[0]["snapshot"]["frozen_disks"] = ["Virtual Hard Disks/../../../x.vhd"]
    drive["media"]["path"] = "Virtual Hard Disks/../../../x.vhd"


def unknown_parent(documents: list[dict]) -> None:
    documents[0]["snapshot"]["parent_id"] = "00000000-0000-0000-0000-0000000000aa"


def cycle(documents: list[dict]) -> None:
    first, second = documents[0]["snapshot"], documents[1]["snapshot"]
    first["parent_id"], second["parent_id"] = second["id"], first["id"]


def foreign(documents: list[dict]) -> None:
    documents[0]["snapshot"]["vm_id"] = "00000000-0000-0000-0000-0000000000bb"


@pytest.mark.parametrize("spoil", [escaping, unknown_parent, cycle, foreign])
def test_hostile_snapshot_files_are_refused_and_leave_nothing(conn, server, root: Path, branching, spoil: Spoil) -> None:
    export(conn, branching, root / "bad", CopySnapshotConfiguration=0)
    folder = root / "bad" / "branching"
    files = sorted((folder / "Snapshots").glob("*.json"))
    documents = [json.loads(f.read_text()) for f in files]
    spoil(documents)
    for file, document in zip(files, documents):
        file.write_text(json.dumps(document))
    storage = server.data_dir / "storage"
    before = sorted(storage.rglob("*"))
    code, message = refused(conn, "ImportSystemDefinition", SystemDefinitionFile=str(definition_file(folder)),
                            SnapshotFolder=str(folder / "Snapshots"), GenerateNewSystemIdentifier=True)
    assert code == 32773 and "SnapshotFolder" in message, message
    assert conn.EnumerateInstanceNames("Msvm_PlannedComputerSystem") == []
    assert sorted(storage.rglob("*")) == before
