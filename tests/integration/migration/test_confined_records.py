"""Migrations a restart cut short are settled at start-up, and their files
deleted, from the paths their records name. A record changed behind the
server's back (or written by a peer's offer) pointing outside the storage
roots never makes the server delete a file there: the file outside stays,
the file inside the roots the same record names goes."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from cimprovider.backends.simulated import SimulatedBackend
from cimprovider.migration.store import Incoming, MigrationStore
from cimprovider.schemas import ServerConfig, SystemSettings
from cimprovider.schemas.migration import FileSlot, MigratingDisk, MigrationOffer
from tests.support.live import in_process_server


def offer_of(data: Path, paths: list[Path]) -> str:
    """An offer as a peer would send it, naming `paths` as its files."""
    backend = SimulatedBackend(ServerConfig(data_dir=data / "peer"))
    try:
        record = backend.migration_record(backend.define_vm(SystemSettings(name="arriving")).id)
    finally:
        backend.close()
    slots = tuple(FileSlot(path=str(p), size=0, sha256=hashlib.sha256(b"").hexdigest()) for p in paths)
    return MigrationOffer(source_host="peer", backend="simulated", record=record, files=slots).model_dump_json()


def test_records_of_cut_short_migrations_delete_nothing_outside_the_roots(tmp_path: Path) -> None:
    data = tmp_path / "data"
    root = data / "storage"
    root.mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    precious = [outside / "moved-here.vhd", outside / "arrived.vhd"]
    for path in precious:
        path.write_text("not the server's to delete")
    copied, arrived = root / "copy.vhd", root / "arrived.vhd"
    for path in (copied, arrived):
        path.write_text("a half-carried file")

    store = MigrationStore(data / "migrations.sqlite3")
    # A storage move of a VM this host does not have: undone, its copies go.
    store.put_moves(uuid.uuid4(), [(str(root / "a.vhd"), str(copied)), (str(root / "b.vhd"), str(precious[0]))])
    # An incoming migration whose VM was never adopted: its files go.
    store.put_incoming(Incoming("token", uuid.uuid4(), offer_of(tmp_path, [arrived, precious[1]]), frozenset({0, 1})))
    store.close()

    with in_process_server(data):
        pass

    assert not copied.exists() and not arrived.exists()  # settled
    assert [p.read_text() for p in precious] == ["not the server's to delete"] * 2
    reopened = MigrationStore(data / "migrations.sqlite3")
    assert reopened.moves() == {} and reopened.incoming() == []
    reopened.close()


def test_a_live_migration_cut_short_leaves_no_file_it_brought(tmp_path: Path) -> None:
    """A running VM's migration (disks the hypervisor copies, files uploaded
    beside them: a frozen disk, a memory file half arrived, a disk with
    snapshots) whose VM never arrived: after a restart none of its files
    is left, and a path outside the roots is still never deleted."""
    data = tmp_path / "data"
    root = data / "storage"
    root.mkdir(parents=True)
    outside = tmp_path / "elsewhere.raw"
    outside.write_text("not the server's to delete")
    frozen, memory, snapped, top = root / "frozen.raw", root / "vm.save", root / "snapped.qcow2", root / "top.qcow2"
    for path in (frozen, snapped, top, memory.with_name(memory.name + ".migrating")):
        path.write_text("a half-carried file")
    offer = MigrationOffer.model_validate_json(offer_of(tmp_path, [frozen, memory, snapped, outside]))
    disks = (MigratingDisk(path=str(top), format="qcow2", virtual_size=1 << 20, backing=str(frozen), backing_format="raw"),
             MigratingDisk(path=str(snapped), format="qcow2", virtual_size=1 << 20, snapshots=("first",)))
    store = MigrationStore(data / "migrations.sqlite3")
    store.put_incoming(Incoming("live", uuid.uuid4(), offer.model_copy(update={"disks": disks}).model_dump_json(),
                                frozenset({0, 2})))
    store.close()

    with in_process_server(data):
        pass

    assert list(root.iterdir()) == []
    assert outside.read_text() == "not the server's to delete"


def test_copies_staged_for_a_live_move_cut_short_go_at_start(tmp_path: Path) -> None:
    """A KVM host killed while it uploaded a running VM's disk (copied for
    the upload) finds the copy at its next start and deletes it; a file
    elsewhere in the roots stays."""
    data = tmp_path / "data"
    root = data / "storage"
    staging = root / ".migrating-out"
    staging.mkdir(parents=True)
    leftover, disk = staging / "1a2b3c4d-vm.qcow2", root / "vm.qcow2"
    leftover.write_text("a copy made for an upload")
    disk.write_text("the VM's disk")

    with in_process_server(data, backend="libvirt", libvirt_uri="test:///default"):
        pass

    assert not leftover.exists() and disk.read_text() == "the VM's disk"
