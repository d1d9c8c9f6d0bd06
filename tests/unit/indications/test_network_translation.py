"""Switch and port changes as indications, over the simulated backend and
a recording service: what defining, connecting, tagging, renaming and
destroying create, modify and delete, without the translator asking the
backend anything."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cimprovider.backends.simulated.backend import SimulatedBackend
from cimprovider.indications import InstanceChange
from cimprovider.indications.network_source import NetworkIndications
from cimprovider.jobs import JobRunner
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.render import NAMESPACE, Renderer
from cimprovider.repository import ClassRepository
from cimprovider.schemas.config import ServerConfig
from cimprovider.schemas.devices import NetworkAdapter
from cimprovider.schemas.host import VirtualSwitch
from cimprovider.schemas.network import PortVlan
from cimprovider.schemas.vm import SystemSettings


class Recorder:
    def __init__(self) -> None:
        self.has_subscribers = True
        self.changes: list[InstanceChange] = []

    def publish(self, change: InstanceChange) -> None:
        self.changes.append(change)

    def may_select(self, namespace: str, classname: str) -> bool:
        return True

    def take(self) -> list[tuple[str, str]]:
        taken = [(c.kind.name, c.source.classname) for c in self.changes]
        self.changes.clear()
        return taken


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> ClassRepository:
    return ClassRepository.load(cache_dir=tmp_path_factory.mktemp("schema"))


@pytest.fixture
def model(tmp_path: Path, repository: ClassRepository) -> Iterator[tuple[SimulatedBackend, Recorder, list[str]]]:
    backend = SimulatedBackend(ServerConfig(data_dir=tmp_path, transition_seconds=0))
    jobs = JobRunner(backend.events)
    virt = Virtualization(backend, jobs, Renderer(repository, NAMESPACE), "host")
    recorder = Recorder()
    source = NetworkIndications(virt, recorder, backend.host_info())  # type: ignore[arg-type]
    # Whatever the translator asks of the backend from a publisher is noted.
    asked: list[str] = []
    inside = threading.local()
    translate = source.on_event

    def on_event(event) -> None:
        inside.yes = True
        try:
            translate(event)
        finally:
            inside.yes = False

    for name in ("get_vm", "list_vms", "list_switches", "get_switch", "list_host_adapters"):
        real = getattr(backend, name)

        def watched(*args, _real=real, _name=name, **kwargs):
            if getattr(inside, "yes", False):
                asked.append(_name)
            return _real(*args, **kwargs)

        setattr(backend, name, watched)
    source.on_event = on_event  # type: ignore[method-assign]
    source.attach(backend.events, backend.list_switches(), backend.list_vms())
    yield backend, recorder, asked
    source.close()
    jobs.close()
    backend.close()


def test_switch_life_as_indications(model) -> None:
    backend, recorder, asked = model
    switch = backend.define_switch(VirtualSwitch(name="lab", host_connected=True))
    assert recorder.take() == [
        ("CREATED", "Msvm_VirtualEthernetSwitch"), ("CREATED", "Msvm_VirtualEthernetSwitchSettingData"),
        ("CREATED", "Msvm_InternalEthernetPort"), ("CREATED", "Msvm_EthernetPortAllocationSettingData"),
        ("CREATED", "Msvm_EthernetSwitchPort"),
    ]
    backend.modify_switch(switch.replace(name="renamed"))
    changed = recorder.changes[:]
    assert recorder.take() == [("MODIFIED", c) for c in (
        "Msvm_VirtualEthernetSwitch", "Msvm_VirtualEthernetSwitchSettingData", "Msvm_InternalEthernetPort",
        "Msvm_EthernetPortAllocationSettingData", "Msvm_EthernetSwitchPort")]
    assert changed[0].source["ElementName"] == "renamed" and changed[0].previous["ElementName"] == "lab"
    backend.destroy_switch(switch.id)
    assert {kind for kind, _ in recorder.take()} == {"DELETED"}
    assert asked == []


def test_a_connection_creates_its_port_and_features_follow(model) -> None:
    backend, recorder, asked = model
    switch = backend.define_switch(VirtualSwitch(name="private"))
    vm = backend.define_vm(SystemSettings(name="guest"))
    recorder.take()
    nic = backend.add_device(vm.id, NetworkAdapter(name="port-1", switch_id=switch.id))
    assert recorder.take() == [("CREATED", "Msvm_EthernetSwitchPort"), ("CREATED", "Msvm_EthernetSwitchPortOffloadSettingData")]
    backend.modify_device(vm.id, nic.replace(vlan=PortVlan(access_vlan=12)))
    created = recorder.changes[:]
    assert recorder.take() == [("CREATED", "Msvm_EthernetSwitchPortVlanSettingData")]
    assert created[0].source["AccessVlanId"] == 12
    backend.destroy_switch(switch.id)
    # The adapter is disconnected first (its port and features go, parts
    # before what holds them), then the switch.
    assert recorder.take() == [
        ("DELETED", "Msvm_EthernetSwitchPortOffloadSettingData"), ("DELETED", "Msvm_EthernetSwitchPortVlanSettingData"),
        ("DELETED", "Msvm_EthernetSwitchPort"),
        ("DELETED", "Msvm_VirtualEthernetSwitchSettingData"), ("DELETED", "Msvm_VirtualEthernetSwitch"),
    ]
    assert asked == []
