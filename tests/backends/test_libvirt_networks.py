"""Switches on libvirt's test driver: each a network the server defines,
starts and autostarts, in the shape its kind asks for; networks made with
virsh read as switches, their state the switch's; an adapter's features in
its interface XML, and what libvirt cannot carry out refused."""

from __future__ import annotations

import time
from uuid import UUID

import pytest
from lxml import etree

from backend_scenarios import new_vm
from conftest import BackendHarness
from libvirt_harness import harness  # noqa: F401 (fixture)
from cimprovider.backends import InvalidParameterError, NetworkBackend
from cimprovider.schemas import (
    NetworkAdapter,
    PortBandwidth,
    PortSecurity,
    PortVlan,
    SwitchDefined,
    SwitchDestroyed,
    SwitchModified,
    SwitchType,
    VirtualSwitch,
)


@pytest.fixture
def network(harness: BackendHarness) -> NetworkBackend:
    backend = harness.open()
    assert isinstance(backend, NetworkBackend)
    return backend


def _network_xml(harness: BackendHarness, switch: VirtualSwitch) -> etree._Element:
    network = harness._keeper.networkLookupByUUID(switch.id.bytes)
    assert network.isActive() and network.autostart()
    return etree.fromstring(network.XMLDesc(0))


def test_libvirt_networks_in_the_shape_of_their_kind(network: NetworkBackend, harness: BackendHarness) -> None:
    adapter = network.list_host_adapters()[0].name
    private = _network_xml(harness, network.define_switch(VirtualSwitch(name="iso")))
    internal = _network_xml(harness, network.define_switch(VirtualSwitch(name="host-only", host_connected=True)))
    external = _network_xml(harness, network.define_switch(VirtualSwitch(name="out", external_adapter=adapter)))
    assert private.find("forward") is None and private.find("ip") is None
    assert internal.find("forward") is None and internal.find("ip").get("address").startswith("10.213.")
    assert internal.find("dns").get("enable") == "no"  # no DNS server (dnsmasq) on the host's address
    assert external.find("forward").get("mode") == "bridge" and external.find("forward/interface").get("dev") == adapter


def test_libvirt_virsh_networks_are_switches(network: NetworkBackend, harness: BackendHarness) -> None:
    made = harness._keeper.networkDefineXML("<network><name>virsh-made</name><bridge name='vbr9'/></network>")
    found = next(s for s in network.list_switches() if s.name == "virsh-made")
    assert (found.switch_type, found.active) == (SwitchType.PRIVATE, False)
    made.create()
    assert network.get_switch(found.id).active is True


def test_libvirt_interface_carries_the_features(network: NetworkBackend, harness: BackendHarness) -> None:
    switch = network.define_switch(VirtualSwitch(name="filtered"))
    vm = new_vm(network)
    nic = network.add_device(vm.id, NetworkAdapter(switch_id=switch.id, bandwidth=PortBandwidth(limit_bps=80_000_000),
                                                   security=PortSecurity()))
    domain = harness._keeper.lookupByUUID(vm.id.bytes)
    interface = etree.fromstring(domain.XMLDesc(0)).find("devices/interface")
    assert interface.find("source").get("network") == harness._keeper.networkLookupByUUID(switch.id.bytes).name()
    assert interface.find("bandwidth/outbound").get("average") == "10000"
    assert interface.find("filterref").get("filter") == "no-mac-spoofing"
    for refused, field in ((nic.replace(vlan=PortVlan(access_vlan=5)), "vlan"),
                           (nic.replace(security=PortSecurity(dhcp_guard=True)), "security.dhcp_guard"),
                           (nic.replace(bandwidth=PortBandwidth(limit_bps=10, reservation_bps=5)), "bandwidth.reservation_bps")):
        with pytest.raises(InvalidParameterError, match=field.replace(".", r"\.")):
            network.modify_device(vm.id, refused)
    assert network.get_vm(vm.id).network_adapters[0] == nic


def test_libvirt_adapter_moves_between_networks(network: NetworkBackend, harness: BackendHarness) -> None:
    # The test driver cannot change a running domain's devices; tier 2 moves a running guest's adapter.
    first, second = network.define_switch(VirtualSwitch(name="one")), network.define_switch(VirtualSwitch(name="two"))
    vm_id = new_vm(network).id
    nic = network.add_device(vm_id, NetworkAdapter(switch_id=first.id))
    network.modify_device(vm_id, nic.replace(switch_id=second.id))
    source = etree.fromstring(harness._keeper.lookupByUUID(vm_id.bytes).XMLDesc(0)).find("devices/interface/source")
    assert source.get("network") == harness._keeper.networkLookupByUUID(second.id.bytes).name()
    network.modify_device(vm_id, nic.replace(switch_id=None))
    assert network.get_vm(vm_id).network_adapters[0].switch_id is None


def test_libvirt_virsh_network_changes_are_switch_events(network: NetworkBackend, harness: BackendHarness) -> None:
    events = network.events.subscribe_queue()
    made = harness._keeper.networkDefineXML("<network><name>virsh-watched</name><bridge name='vbr8'/></network>")
    switch_id = UUID(made.UUIDString())
    defined = wait_for(events, lambda e: isinstance(e, SwitchDefined) and e.switch.id == switch_id)
    assert (defined.switch.name, defined.switch.active) == ("virsh-watched", False)
    made.create()
    started = wait_for(events, lambda e: isinstance(e, SwitchModified) and e.switch.id == switch_id)
    assert (started.previous.active, started.switch.active) == (False, True)
    made.destroy()
    made.undefine()
    wait_for(events, lambda e: isinstance(e, SwitchDestroyed) and e.switch.id == switch_id)
    own = network.define_switch(VirtualSwitch(name="own"))
    network.destroy_switch(own.id)
    # libvirt's own events about our changes come too, through the same queue
    # as a later virsh change: up to that one, each change was published once.
    sentinel = harness._keeper.networkDefineXML("<network><name>virsh-sentinel</name><bridge name='vbr7'/></network>")
    seen = []
    wait_for(events, lambda e: seen.append(e) or (isinstance(e, SwitchDefined) and str(e.switch.id) == sentinel.UUIDString()))
    mine = [type(e) for e in seen if getattr(e, "switch", None) is not None and e.switch.id == own.id]
    assert mine == [SwitchDefined, SwitchDestroyed]


def wait_for(events, match, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in events.drain():
            if match(event):
                return event
        time.sleep(0.05)
    raise AssertionError("the expected switch event did not come")
