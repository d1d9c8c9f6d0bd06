"""The NetworkBackend contract on both backends (libvirt on its test
driver): switches of each kind defined, changed and destroyed, an adapter
bound once, a destroyed switch's adapters disconnected, port features kept
with the adapter."""

from __future__ import annotations

import pytest

from backend_scenarios import new_vm
from conftest import BackendHarness
from cimprovider.backends import Backend, InUseError, InvalidParameterError, NetworkBackend, NotFoundError
from cimprovider.schemas import (
    DeviceModified,
    NetworkAdapter,
    PortBandwidth,
    PortSecurity,
    SwitchDefined,
    SwitchDestroyed,
    SwitchModified,
    SwitchType,
    VirtualSwitch,
)


@pytest.fixture
def network(backend: Backend) -> NetworkBackend:
    assert isinstance(backend, NetworkBackend)
    return backend


def test_the_three_kinds_defined_changed_and_destroyed(network: NetworkBackend) -> None:
    events = network.events.subscribe_queue()
    adapter = network.list_host_adapters()[0].name
    private = network.define_switch(VirtualSwitch(name="lab"))
    internal = network.define_switch(VirtualSwitch(name="lab", host_connected=True))
    external = network.define_switch(VirtualSwitch(name="uplink", external_adapter=adapter))
    kinds = {s.id: (s.name, s.switch_type, s.external_adapter, s.active) for s in network.list_switches()}
    assert kinds[private.id] == ("lab", SwitchType.PRIVATE, None, True)
    assert kinds[internal.id] == ("lab", SwitchType.INTERNAL, None, True)
    assert kinds[external.id] == ("uplink", SwitchType.EXTERNAL, adapter, True)
    renamed = network.modify_switch(private.replace(name="renamed", notes="for tests", host_connected=True))
    assert (renamed.name, renamed.notes, renamed.switch_type) == ("renamed", "for tests", SwitchType.INTERNAL)
    assert network.get_switch(private.id) == renamed
    for switch in (private, internal, external):
        network.destroy_switch(switch.id)
    assert not {private.id, internal.id, external.id} & {s.id for s in network.list_switches()}
    kinds_seen = [type(e) for e in events.drain()]
    assert kinds_seen.count(SwitchDefined) == 3 and kinds_seen.count(SwitchModified) == 1 and kinds_seen.count(SwitchDestroyed) == 3
    with pytest.raises(NotFoundError):
        network.destroy_switch(private.id)


def test_an_adapter_is_bound_once_and_must_exist(network: NetworkBackend) -> None:
    adapter = network.list_host_adapters()[0].name
    bound = network.define_switch(VirtualSwitch(name="first", external_adapter=adapter))
    before = {s.id for s in network.list_switches()}
    with pytest.raises(InUseError, match="first"):
        network.define_switch(VirtualSwitch(name="second", external_adapter=adapter))
    with pytest.raises(InvalidParameterError, match="no network adapter 'wlan9'"):
        network.define_switch(VirtualSwitch(name="third", external_adapter="wlan9"))
    assert {s.id for s in network.list_switches()} == before
    network.destroy_switch(bound.id)


def test_destroying_a_switch_disconnects_its_adapters(network: NetworkBackend, harness: BackendHarness) -> None:
    switch = network.define_switch(VirtualSwitch(name="doomed"))
    vm = new_vm(network)
    nic = network.add_device(vm.id, NetworkAdapter(switch_id=switch.id, bandwidth=PortBandwidth(limit_bps=80_000_000)))
    events = network.events.subscribe_queue()
    network.destroy_switch(switch.id)
    [after] = network.get_vm(vm.id).network_adapters
    assert (after.id, after.switch_id, after.bandwidth) == (nic.id, None, None)
    seen = events.drain()
    assert any(isinstance(e, DeviceModified) and e.device.id == nic.id for e in seen)
    assert isinstance(seen[-1], SwitchDestroyed)


def test_port_features_stay_with_the_adapter(network: NetworkBackend, harness: BackendHarness) -> None:
    switch = network.define_switch(VirtualSwitch(name="shaped"))
    vm = new_vm(network)
    nic = network.add_device(vm.id, NetworkAdapter(switch_id=switch.id))
    shaped = network.modify_device(vm.id, nic.replace(bandwidth=PortBandwidth(limit_bps=80_000_000),
                                                      security=PortSecurity(allow_mac_spoofing=False)))
    assert network.get_vm(vm.id).network_adapters[0] == shaped
    assert shaped.bandwidth.limit_bps == 80_000_000 and shaped.security.allow_mac_spoofing is False
    allowed = network.modify_device(vm.id, shaped.replace(security=PortSecurity(allow_mac_spoofing=True)))
    assert network.get_vm(vm.id).network_adapters[0].security == allowed.security
    network.destroy_switch(switch.id)
