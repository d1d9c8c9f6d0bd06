"""A libvirt snapshot's files are handled only inside the server's own
places. Its memory file is deleted with the snapshot only when the server
wrote it, in its own folder of the data directory: a snapshot redefined
outside the server (virsh snapshot-create --redefine) may name any file as
its memory, and destroying it must leave that file alone. And when the
server looks for disks still reading through an overlay it made, a disk
outside the storage roots (added to the domain elsewhere) is never opened
to find out; the overlay is kept for it."""

from __future__ import annotations

from pathlib import Path

import subprocess

import libvirt
import pytest

from cimprovider.backends import change_power_state
from cimprovider.backends.libvirt.external_snapshots import MEMORY_FOLDER
from cimprovider.schemas import PowerRequest
from tests.backends.backend_scenarios import new_vm
from tests.backends.conftest import LIBVIRT_TEST_URI, BackendHarness
from tests.support.untouched import assert_untouched, fingerprint


@pytest.fixture
def harness(tmp_path: Path):
    harness = BackendHarness("libvirt", tmp_path / "data")
    yield harness
    harness.close_all()


def with_memory_file(vm_name: str, snapshot_name: str, memory: Path) -> None:
    """virsh snapshot-create --redefine, with the memory saved in `memory`."""
    conn = libvirt.open(LIBVIRT_TEST_URI)
    try:
        domain = conn.lookupByName(vm_name)
        snap = domain.snapshotLookupByName(snapshot_name, 0)
        xml = snap.getXMLDesc(libvirt.VIR_DOMAIN_SNAPSHOT_XML_SECURE)
        xml = xml.replace("<memory snapshot='internal'/>", f"<memory snapshot='external' file='{memory}'/>")
        xml = xml.replace("<memory snapshot='no'/>", f"<memory snapshot='external' file='{memory}'/>")
        assert str(memory) in xml
        domain.snapshotCreateXML(xml, libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE)
    finally:
        conn.close()


@pytest.mark.parametrize("where", ["outside", "data"])
def test_a_memory_file_the_server_did_not_write_survives_the_snapshot(harness: BackendHarness, tmp_path: Path, where: str) -> None:
    backend = harness.open()
    vm = new_vm(backend, "memory-vm")
    change_power_state(backend, vm.id, PowerRequest.START)  # a running guest's snapshot holds its memory
    snapshot = backend.create_snapshot(vm.id, "redefined")
    # Outside everything, or in the data directory but not the memory folder.
    folder = tmp_path / "elsewhere" if where == "outside" else harness.config.data_dir
    folder.mkdir(parents=True, exist_ok=True)
    precious = folder / "precious.save"
    precious.write_text("not a memory file of ours")
    with_memory_file(backend.get_vm(vm.id).name, str(snapshot.id), precious)
    assert backend.get_snapshot(snapshot.id).has_saved_state

    backend.destroy_snapshot(snapshot.id)
    assert backend.list_snapshots(vm.id) == []
    assert precious.read_text() == "not a memory file of ours"


def test_a_memory_file_the_server_wrote_goes_with_its_snapshot(harness: BackendHarness) -> None:
    backend = harness.open()
    vm = new_vm(backend, "memory-vm")
    change_power_state(backend, vm.id, PowerRequest.START)  # a running guest's snapshot holds its memory
    snapshot = backend.create_snapshot(vm.id, "ours")
    ours = harness.config.data_dir / MEMORY_FOLDER / f"{vm.id}-{snapshot.id}.save"
    ours.parent.mkdir(parents=True, exist_ok=True)
    ours.write_bytes(b"memory")
    with_memory_file(backend.get_vm(vm.id).name, str(snapshot.id), ours)

    backend.destroy_snapshot(snapshot.id)
    assert not ours.exists()


def test_a_disk_outside_the_roots_is_not_opened_to_see_what_it_reads_through(harness: BackendHarness, tmp_path: Path) -> None:
    backend = harness.open()
    harness.storage.mkdir(parents=True, exist_ok=True)
    overlay = harness.storage / "system-snap-0badf00d.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(overlay), "4M"], check=True)
    outside = tmp_path / "elsewhere" / "reader.qcow2"
    outside.parent.mkdir()
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(overlay), "-F", "qcow2", str(outside)], check=True)
    before = fingerprint(outside)
    assert backend._backed_by(str(overlay), {str(outside)})  # kept: it may read through it
    assert_untouched(outside, before)
