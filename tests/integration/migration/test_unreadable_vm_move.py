"""A storage move cut short is settled at start-up by the files its VM
reads; when the VM cannot be read (here: libvirt describes a snapshot,
taken with virsh, whose memory file lies outside every folder the server
keeps, so the backend refuses to describe the VM's files), nothing is
judged on a guess: both the old file and the copy the VM already runs
on are kept, with the move's record, for the next start. Only a VM that
is gone lets the copies go. On libvirt's test driver, shared with the
in-process server."""

from __future__ import annotations

import uuid
from pathlib import Path

import libvirt

from cimprovider.migration.store import MigrationStore
from tests.support.live import in_process_server

URI = "test:///default"  # one driver per process: the server below sees this domain


def _domain_on(conn: libvirt.virConnect, disk: Path) -> libvirt.virDomain:
    return conn.defineXML(
        f"<domain type='test'><name>moved-{uuid.uuid4().hex[:8]}</name><memory>65536</memory><vcpu>1</vcpu>"
        "<os><type>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        f"<source file='{disk}'/><target dev='sda' bus='scsi'/></disk></devices></domain>")


def test_a_move_whose_vm_cannot_be_read_keeps_every_file_and_its_record(tmp_path: Path) -> None:
    data = tmp_path / "data"
    root = data / "storage"
    old, copy = root / "old" / "disk.img", root / "new" / "disk.img"
    for path in (old, copy):
        path.parent.mkdir(parents=True)
        path.write_text("a disk")
    elsewhere = tmp_path / "elsewhere" / "virsh.save"
    elsewhere.parent.mkdir()
    elsewhere.write_text("a memory image")

    conn = libvirt.open(URI)
    domain = _domain_on(conn, copy)  # the VM already runs on its copy: the move switched it before it stopped
    try:
        domain.create()
        domain.snapshotCreateXML(f"<domainsnapshot><name>virsh</name><memory snapshot='external' file='{elsewhere}'/>"
                                 "<disks><disk name='sda' snapshot='no'/></disks></domainsnapshot>", 0)
        store = MigrationStore(data / "migrations.sqlite3")
        store.put_moves(uuid.UUID(domain.UUIDString()), [(str(old), str(copy))])
        store.close()

        with in_process_server(data, backend="libvirt", libvirt_uri=URI):
            pass

        assert copy.read_text() == "a disk", "the file the VM runs on was deleted"
        assert old.read_text() == "a disk" and elsewhere.read_text() == "a memory image"
        reopened = MigrationStore(data / "migrations.sqlite3")
        assert reopened.moves() == {uuid.UUID(domain.UUIDString()): [(str(old), str(copy))]}
        reopened.close()

        # Once the VM is gone, the next start lets its copy go and keeps the old file.
        domain.destroy()
        domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        domain = None
        with in_process_server(data, backend="libvirt", libvirt_uri=URI):
            pass
        assert not copy.exists() and old.read_text() == "a disk"
        reopened = MigrationStore(data / "migrations.sqlite3")
        assert reopened.moves() == {}
        reopened.close()
    finally:
        if domain is not None:
            if domain.isActive():
                domain.destroy()
            domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        conn.close()
