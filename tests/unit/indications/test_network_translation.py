"""Switch and port changes as indications, over the simulated backend and
a recording service: what defining, connecting, tagging, renaming and
destroying create, modify and delete, without the translator asking the
backend anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cimprovider.backends.simulated.backend import SimulatedBackend
from cimprovider.indications.network_source import NetworkIndications
from cimprovider.repository import ClassRepository
from cimprovider.schemas.devices import NetworkAdapter
from cimprovider.schemas.host import VirtualSwitch
from cimprovider.schemas.network import PortVlan
from cimprovider.schemas.vm import SystemSettings
from tests.unit.indications.translating import Recorder, simulated, watch


@pytest.fixture
def model(tmp_path: Path, repository: ClassRepository) -> Iterator[tuple[SimulatedBackend, Recorder, list[str]]]:
    with simulated(tmp_path, repository) as sim:
        source = NetworkIndications(sim.virt, sim.recorder, sim.backend.host_info())  # type: ignore[arg-type]
        asked = watch(source, sim.backend, ("get_vm", "list_vms", "list_switches", "get_switch", "list_host_adapters"))
        source.attach(sim.backend.events, sim.backend.list_switches(), sim.backend.list_vms())
        yield sim.backend, sim.recorder, asked
        source.close()


def test_switch_life_as_indications(model) -> None:
    backend, recorder, asked = model
    switch = backend.define_switch(VirtualSwitch(name="lab", host_connected=True))
    assert recorder.drain() == [
        ("CREATED", "Msvm_VirtualEthernetSwitch"), ("CREATED", "Msvm_VirtualEthernetSwitchSettingData"),
        ("CREATED", "Msvm_InternalEthernetPort"), ("CREATED", "Msvm_EthernetPortAllocationSettingData"),
        ("CREATED", "Msvm_EthernetSwitchPort"),
    ]
    backend.modify_switch(switch.replace(name="renamed"))
    changed = recorder.changes[:]
    assert recorder.drain() == [("MODIFIED", c) for c in (
        "Msvm_VirtualEthernetSwitch", "Msvm_VirtualEthernetSwitchSettingData", "Msvm_InternalEthernetPort",
        "Msvm_EthernetPortAllocationSettingData", "Msvm_EthernetSwitchPort")]
    assert changed[0].source["ElementName"] == "renamed" and changed[0].previous["ElementName"] == "lab"
    backend.destroy_switch(switch.id)
    assert {kind for kind, _ in recorder.drain()} == {"DELETED"}
    assert asked == []


def test_a_connection_creates_its_port_and_features_follow(model) -> None:
    backend, recorder, asked = model
    switch = backend.define_switch(VirtualSwitch(name="private"))
    vm = backend.define_vm(SystemSettings(name="guest"))
    recorder.drain()
    nic = backend.add_device(vm.id, NetworkAdapter(name="port-1", switch_id=switch.id))
    assert recorder.drain() == [("CREATED", "Msvm_EthernetSwitchPort"), ("CREATED", "Msvm_EthernetSwitchPortOffloadSettingData")]
    backend.modify_device(vm.id, nic.replace(vlan=PortVlan(access_vlan=12)))
    created = recorder.changes[:]
    assert recorder.drain() == [("CREATED", "Msvm_EthernetSwitchPortVlanSettingData")]
    assert created[0].source["AccessVlanId"] == 12
    backend.destroy_switch(switch.id)
    # The adapter is disconnected first (its port and features go, parts
    # before what holds them), then the switch.
    assert recorder.drain() == [
        ("DELETED", "Msvm_EthernetSwitchPortOffloadSettingData"), ("DELETED", "Msvm_EthernetSwitchPortVlanSettingData"),
        ("DELETED", "Msvm_EthernetSwitchPort"),
        ("DELETED", "Msvm_VirtualEthernetSwitchSettingData"), ("DELETED", "Msvm_VirtualEthernetSwitch"),
    ]
    assert asked == []
