"""The libvirt backend's own promises, on libvirt's test driver: what it
writes into a domain, domains it did not define, changes made behind its
back, and a connection that breaks."""

from __future__ import annotations

import queue
import time
from pathlib import Path
from uuid import UUID

import pytest

import libvirt  # a missing module fails the run: tier 1 is never skipped
from lxml import etree

from backend_scenarios import new_vm
from conftest import BackendHarness
from libvirt_harness import backend, harness  # noqa: F401 (fixtures)
from tests.support.waiting import DEADLINE
from cimprovider.backends import InvalidStateError, change_power_state
from cimprovider.backends.libvirt import LibvirtBackend
from cimprovider.backends.libvirt.metadata import NAMESPACE
from cimprovider.events import EventBus
from cimprovider.schemas.events import BackendHealthChanged
from cimprovider.schemas import (
    AutomaticStopAction,
    Controller,
    ControllerType,
    Drive,
    DriveType,
    KvpItem,
    Media,
    NetworkAdapter,
    PowerRequest,
    PowerState,
    PowerStateChanged,
    SnapshotType,
    VmDefined,
    VmModified,
)

OUTSIDE_DOMAIN = """<domain type='test'>
  <name>made-with-virsh</name>
  <memory unit='MiB'>4096</memory><currentMemory unit='MiB'>2048</currentMemory>
  <vcpu current='2'>4</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <controller type='scsi' index='0' model='virtio-scsi'/>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/images/data.qcow2'/>
      <target dev='sda' bus='scsi'/><address type='drive' controller='0' bus='0' target='0' unit='2'/></disk>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
    <disk type='file' device='disk'><source file='/var/lib/images/boot.img'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:12:34:56'/><source network='default'/><model type='e1000'/></interface>
    <serial type='pty'><target port='0'/></serial>
  </devices>
</domain>"""


@pytest.fixture
def outside(harness: BackendHarness) -> libvirt.virConnect:
    """Another libvirt client on the same host, as virsh would be."""
    conn = libvirt.open(harness.config.libvirt_uri)
    yield conn
    conn.close()


def wait_for(events: queue.Queue, match, timeout: float = DEADLINE):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = events.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if match(event):
            return event
    raise AssertionError("the expected event did not arrive")


def test_hyper_v_settings_round_trip_through_domain_metadata(harness: BackendHarness, backend: LibvirtBackend, outside) -> None:
    vm = new_vm(backend, "meta", notes="keeps its notes", automatic_stop_action="shutdown", snapshot_type="standard")
    scsi = backend.add_device(vm.id, Controller(controller_type=ControllerType.SCSI, name="data bus"))
    pending = backend.add_device(vm.id, Drive(controller_id=scsi.id, slot=3, name="not yet a disk"))
    disk = backend.add_device(vm.id, Drive(controller_id=scsi.id, slot=4, media=Media(path=harness.medium("a.img"))))
    nic = backend.add_device(vm.id, NetworkAdapter(name="Front end", mac_address="525400AABBCC", static_mac=True))
    backend.modify_device(vm.id, backend.get_vm(vm.id).memory.replace(dynamic_enabled=True, minimum_mb=512, maximum_mb=4096, buffer_percent=35))
    backend.add_kvp_items(vm.id, [KvpItem(name="role", data="web")])
    before = backend.get_vm(vm.id)

    xml = etree.fromstring(outside.lookupByUUID(vm.id.bytes).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    ours = xml.find(f"metadata/{{{NAMESPACE}}}vm")
    assert ours is not None
    assert ours.findtext(f"{{{NAMESPACE}}}notes") == '["keeps its notes"]'
    assert xml.findtext("name") == "meta" and xml.findtext("uuid") == str(vm.id)
    assert xml.find("memory").text == str(4096 * 1024) and xml.find("currentMemory").text == str(1024 * 1024)
    assert xml.find(f"devices/disk/alias[@name='ua-{disk.id}']") is not None
    assert xml.find("devices/interface/mac").get("address") == "52:54:00:aa:bb:cc"

    backend.close()
    reopened = harness.open()
    again = reopened.get_vm(vm.id)
    assert again == before
    assert again.automatic_stop_action is AutomaticStopAction.SHUTDOWN and again.snapshot_type is SnapshotType.STANDARD
    assert again.memory.dynamic_enabled and again.memory.buffer_percent == 35
    assert pending in again.drives and nic in again.network_adapters
    assert again.controller(scsi.id).name == "data bus"  # type: ignore[union-attr]
    assert again.kvp_items == (KvpItem(name="role", data="web"),)


def test_a_domain_defined_with_virsh_appears_as_a_vm(backend: LibvirtBackend, outside) -> None:
    events = backend.events.subscribe_queue()
    domain = outside.defineXML(OUTSIDE_DOMAIN)
    vm_id = UUID(domain.UUIDString())
    defined = wait_for(events.queue, lambda e: isinstance(e, VmDefined) and e.vm.id == vm_id)
    vm = backend.get_vm(vm_id)
    assert defined.vm == vm
    assert vm.name == "made-with-virsh" and vm.power_state is PowerState.OFF and vm.generation == 1
    assert vm.processor.count == 2
    assert (vm.memory.dynamic_enabled, vm.memory.startup_mb, vm.memory.maximum_mb) == (True, 2048, 4096)
    scsi = next(c for c in vm.controllers if c.controller_type is ControllerType.SCSI)
    disk = next(d for d in vm.drives if d.controller_id == scsi.id)
    assert (disk.slot, disk.media.path) == (2, "/var/lib/images/data.qcow2")  # type: ignore[union-attr]
    dvd = next(d for d in vm.drives if d.drive_type is DriveType.DVD)
    assert vm.controller(dvd.controller_id).number == 1 and dvd.media is None  # type: ignore[union-attr]
    assert len(vm.drives) == 2  # the virtio disk has no Hyper-V place
    (nic,) = vm.network_adapters
    assert nic.mac_address == "525400123456" and nic.adapter_type.value == "emulated"
    assert nic.switch_id == backend.list_switches()[0].id
    # Ids are the same on every read, and stay once we have written the domain.
    assert backend.get_vm(vm_id) == vm
    changed = backend.modify_vm(vm_id, vm.settings.replace(notes="now managed"))
    assert [d.id for d in changed.drives] == [d.id for d in vm.drives] and changed.network_adapters == vm.network_adapters
    xml = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert "/var/lib/images/boot.img" in xml and f"ua-{disk.id}" in xml  # the virtio disk is left alone


def test_changes_made_behind_the_backends_back_reach_the_bus(backend: LibvirtBackend, outside) -> None:
    vm = new_vm(backend, "watched")
    change_power_state(backend, vm.id, PowerRequest.START)
    events = backend.events.subscribe_queue()
    domain = outside.lookupByUUID(vm.id.bytes)
    domain.suspend()
    paused = wait_for(events.queue, lambda e: isinstance(e, PowerStateChanged))
    assert (paused.vm_id, paused.old, paused.new, paused.request) == (vm.id, PowerState.RUNNING, PowerState.PAUSED, None)
    domain.setMemoryFlags(1024 * 1024, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    domain.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "<vm><notes>by hand</notes></vm>", "hv", NAMESPACE,
                       libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    modified = wait_for(events.queue, lambda e: isinstance(e, VmModified))
    assert modified.vm.notes == ("by hand",) and modified.previous.notes == ()
    domain.destroy()
    wait_for(events.queue, lambda e: isinstance(e, PowerStateChanged) and e.new is PowerState.OFF)
    assert backend.get_vm(vm.id).power_state is PowerState.OFF


def test_hyper_v_names_need_not_be_unique_but_domain_names_must(backend: LibvirtBackend, outside) -> None:
    first, second = new_vm(backend, "twin"), new_vm(backend, "twin")
    names = {outside.lookupByUUID(vm.id.bytes).name() for vm in (first, second)}
    assert names == {"twin", f"twin-{str(second.id)[:8]}"}
    assert backend.get_vm(second.id).name == "twin"
    # Renamed with virsh: the domain's new name is the VM's name.
    outside.lookupByUUID(second.id.bytes).rename("renamed-by-hand", 0)
    assert backend.get_vm(second.id).name == "renamed-by-hand"
    # Renamed through us while running: libvirt cannot, the metadata carries it.
    change_power_state(backend, first.id, PowerRequest.START)
    assert backend.modify_vm(first.id, first.settings.replace(name="live name")).name == "live name"
    assert outside.lookupByUUID(first.id.bytes).name() == "twin"


def test_a_lost_connection_is_reported_and_recovered(backend: LibvirtBackend, outside) -> None:
    events = backend.events.subscribe_queue(kinds=[VmDefined, BackendHealthChanged])
    assert backend.health().healthy
    connection = backend._connection
    connection._closed_by_libvirt(connection.get(), libvirt.VIR_CONNECT_CLOSE_REASON_EOF, None)  # as libvirt reports it
    assert not backend.healthy and "lost the connection to test:///default" in backend.health().detail
    with pytest.raises(Exception, match="lost"):
        backend.list_vms()
    # Defined while we were away: seen once the connection is back.
    domain = outside.defineXML(OUTSIDE_DOMAIN)
    lost = wait_for(events.queue, lambda e: isinstance(e, BackendHealthChanged))
    assert (lost.backend, lost.health.healthy) == ("libvirt", False)
    back = wait_for(events.queue, lambda e: isinstance(e, BackendHealthChanged))
    assert back.health.healthy and back.health.since > lost.health.since
    wait_for(events.queue, lambda e: isinstance(e, VmDefined) and e.vm.id == UUID(domain.UUIDString()))
    assert backend.healthy and backend.health().reconnect_attempts == 0
    assert any(vm.name == "made-with-virsh" for vm in backend.list_vms())


def test_serve_over_libvirt(tmp_path: Path) -> None:
    from tests.support.live import serve_process

    args = ("--backend", "libvirt", "--libvirt-uri", "test:///default", "--port", "0", "--data-dir", str(tmp_path))
    with serve_process(*args) as server:
        conn = __import__("pywbem").WBEMConnection(server.url, default_namespace="root/virtualization/v2", timeout=30)
        systems = conn.EnumerateInstances("Msvm_ComputerSystem")
        local = libvirt.open("test:///default")  # the stock host: the same "test" domain in every process
        expected = local.lookupByName("test").UUIDString().upper()
        local.close()
        names = {str(system["Name"]) for system in systems}
        assert expected in names
        assert any(system["ElementName"] == "test" for system in systems)
        assert server.stop() == 0


def test_processors_changed_live_with_virsh_show_in_the_runtime_not_the_settings(backend: LibvirtBackend, outside) -> None:
    domain = outside.defineXML(OUTSIDE_DOMAIN.replace("made-with-virsh", "vcpus-live"))
    vm_id = UUID(domain.UUIDString())
    assert change_power_state(backend, vm_id, PowerRequest.START).power_state is PowerState.RUNNING
    assert backend.get_runtime(vm_id).processors_online == 2
    domain.setVcpusFlags(3, libvirt.VIR_DOMAIN_AFFECT_LIVE)  # virsh setvcpus --live
    assert backend.get_runtime(vm_id).processors_online == 3
    assert backend.get_vm(vm_id).processor.count == 2  # the definition is unchanged
    change_power_state(backend, vm_id, PowerRequest.STOP)
    assert backend.get_runtime(vm_id).processors_online is None


def test_starting_a_vm_starts_the_inactive_network_it_is_connected_to(backend: LibvirtBackend, outside) -> None:
    network = outside.networkDefineXML("<network><name>cimp-idle</name><bridge name='cimpidle0'/></network>")
    try:
        vm = new_vm(backend, "on-idle-network")
        backend.add_device(vm.id, NetworkAdapter(switch_id=UUID(network.UUIDString())))
        assert not network.isActive()
        assert change_power_state(backend, vm.id, PowerRequest.START).power_state is PowerState.RUNNING
        assert network.isActive()
        change_power_state(backend, vm.id, PowerRequest.STOP)

        network.destroy()
        network.undefine()
        with pytest.raises(InvalidStateError, match="network 'cimp-idle', which no longer exists"):
            change_power_state(backend, vm.id, PowerRequest.START)
        assert backend.get_vm(vm.id).power_state is PowerState.OFF
    finally:
        try:
            network.destroy()
        except libvirt.libvirtError:
            pass
        try:
            network.undefine()
        except libvirt.libvirtError:
            pass


def test_changes_made_while_the_server_was_down_are_published_when_it_catches_up(
    harness: BackendHarness, backend: LibvirtBackend, outside
) -> None:
    kept, gone = new_vm(backend, "kept"), new_vm(backend, "gone")
    backend.close()
    outside.lookupByUUID(kept.id.bytes).create()  # while the server is down
    outside.lookupByUUID(gone.id.bytes).undefine()
    arrived = UUID(outside.defineXML(OUTSIDE_DOMAIN.replace("made-with-virsh", "arrived")).UUIDString())

    bus = EventBus()
    events = bus.subscribe_queue()
    reopened = harness.open(bus)
    assert {vm.id: vm.power_state for vm in reopened.last_published()}[kept.id] is PowerState.OFF  # type: ignore[attr-defined]
    reopened.catch_up()  # type: ignore[attr-defined]
    seen: list = []
    wait_for(events.queue, lambda e: seen.append(e) or len(seen) == 3)
    changes = {(type(e).__name__, getattr(e, "vm_id", None) or e.vm.id): e for e in seen}
    started = changes[("PowerStateChanged", kept.id)]
    assert (started.old, started.new) == (PowerState.OFF, PowerState.RUNNING)
    assert set(changes) == {("PowerStateChanged", kept.id), ("VmDestroyed", gone.id), ("VmDefined", arrived)}

    reopened.close()
    again = harness.open()
    assert sorted(again.last_published(), key=lambda vm: vm.id) == sorted(again.list_vms(), key=lambda vm: vm.id)  # type: ignore[attr-defined]
