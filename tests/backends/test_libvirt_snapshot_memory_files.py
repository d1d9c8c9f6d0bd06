"""A libvirt snapshot's memory file is deleted with the snapshot only when
the server wrote it, in its own folder of the data directory. A snapshot
redefined outside the server (virsh snapshot-create --redefine) may name
any file as its memory: destroying it must leave that file alone."""

from __future__ import annotations

from pathlib import Path

import libvirt
import pytest

from cimprovider.backends import change_power_state
from cimprovider.backends.libvirt.external_snapshots import MEMORY_FOLDER
from cimprovider.schemas import PowerRequest
from tests.backends.backend_scenarios import new_vm
from tests.backends.conftest import LIBVIRT_TEST_URI, BackendHarness


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
