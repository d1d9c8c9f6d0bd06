"""Following associations from one VM reads that VM, not the host's whole
list: with 100 VMs and with 1,000 the same traversals from every object of
one VM (its system, settings, resources, devices, snapshot, export
settings, port) list the VMs no time and build as many instances. Counted
on the backend and the renderer, so nothing here depends on timing."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstanceName, WBEMConnection

from cimprovider.backends.simulated.host import DEFAULT_SWITCH
from cimprovider.providers.virtualization.network import identity
from cimprovider.schemas.devices import NetworkAdapter
from cimprovider.schemas.vm import SystemSettings
from tests.integration.model.hyperv import NS
from tests.support.live import in_process_server

FEW, MANY = 100, 1000
OPERATIONS = ("AssociatorNames", "Associators", "ReferenceNames", "References")


class Tally:
    """Calls made while serving requests (the server's operation threads,
    not the background samplers)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def wrap(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread().name.startswith("cim-op"):
                self.counts[name] += 1
            return call(*args, **kwargs)

        return counted


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WBEMConnection, Any, Any, Tally]]:
    found: dict = {}
    with in_process_server(tmp_path_factory.mktemp("walks"), extensions=[lambda reg, cat, parts: found.update(parts=parts)]) as live:
        virt = found["parts"].registry.instance_provider(NS, "Msvm_ComputerSystem").virt
        backend = virt.backend
        tally = Tally()
        backend.list_vms = tally.wrap("list_vms", backend.list_vms)
        virt.renderer.instance = tally.wrap("rendered", virt.renderer.instance)
        probe = backend.define_vm(SystemSettings(name="probe"), [NetworkAdapter(name="nic", switch_id=DEFAULT_SWITCH.id)])
        backend.create_snapshot(probe.id, "before")
        yield live.connection(NS), virt, probe, tally


def define_more(virt: Any, count: int) -> None:
    for i in range(count):
        virt.backend.define_vm(SystemSettings(name=f"other-{i}"), [NetworkAdapter(name="nic", switch_id=DEFAULT_SWITCH.id)])


def of_the_vm(path: CIMInstanceName, guid: str) -> bool:
    return any(guid.lower() in str(value).lower() for value in path.keybindings.values())


def objects_of(conn: WBEMConnection, vm: CIMInstanceName, snapshot_guids: list[str]) -> list[CIMInstanceName]:
    """The VM's system and what lies within two steps of it and belongs to
    it (or to its snapshot): the starting points a client has."""
    guids = [vm["Name"], *snapshot_guids]
    found = {str(vm): vm}
    for near in conn.AssociatorNames(vm):
        if any(of_the_vm(near, guid) for guid in guids):
            found.setdefault(str(near), near)
    for start in list(found.values()):
        for far in conn.AssociatorNames(start):
            if any(of_the_vm(far, guid) for guid in guids):
                found.setdefault(str(far), far)
    for each in found.values():
        each.host = None
    return sorted(found.values(), key=str)


def traverse(conn: WBEMConnection, objects: list[CIMInstanceName], tally: Tally) -> tuple[dict, Counter[str]]:
    """Every operation from every object (once to build what is cached,
    once counted): its answer's paths, and what serving them cost."""
    answers = {}
    for counted in (False, True):
        before = Counter(tally.counts)
        for start in objects:
            for operation in OPERATIONS:
                result = getattr(conn, operation)(start)
                paths = [getattr(item, "path", item) for item in result]
                answers[(str(start), operation)] = sorted(str(p) for p in paths)
        if counted:
            return answers, tally.counts - before
    raise AssertionError("unreachable")


def test_traversals_from_one_vm_do_not_grow_with_the_vms(model) -> None:
    conn, virt, probe, tally = model
    vm = virt.vm_path(probe.id)
    snapshots = [str(s.id).upper() for s in virt.backend.list_snapshots(probe.id)]
    define_more(virt, FEW - 1)
    objects = objects_of(conn, vm, snapshots)
    classes = {path.classname for path in objects}
    assert {"Msvm_ComputerSystem", "Msvm_VirtualSystemSettingData", "Msvm_VirtualSystemExportSettingData",
            "Msvm_SyntheticEthernetPortSettingData", "Msvm_EthernetPortAllocationSettingData"} <= classes, classes
    few_answers, few_cost = traverse(conn, objects, tally)

    define_more(virt, MANY - FEW)
    many_answers, many_cost = traverse(conn, objects, tally)

    assert many_answers == few_answers
    assert few_cost["list_vms"] == 0 and many_cost["list_vms"] == 0, (few_cost, many_cost)
    assert many_cost["rendered"] == few_cost["rendered"], (few_cost, many_cost)


def test_a_vm_switch_port_is_read_through_its_vm_as_adapters_come_and_go(model) -> None:
    conn, virt, probe, tally = model
    switch = virt.backend.get_switch(DEFAULT_SWITCH.id)

    def port(nic_id: Any) -> CIMInstanceName:
        return identity.switch_port_path(virt, switch, identity.vm_port_guid(probe.id, nic_id))

    def get(path: CIMInstanceName) -> tuple[Any, int]:
        before = tally.counts["list_vms"]
        try:
            found = conn.GetInstance(path)
        except CIMError as error:
            found = error.status_code
        return found, tally.counts["list_vms"] - before

    (first,) = virt.backend.get_vm(probe.id).network_adapters
    assert get(port(first.id))[0]["ElementName"] == "nic"  # the index is built by now
    added = virt.backend.add_device(probe.id, NetworkAdapter(name="second", switch_id=DEFAULT_SWITCH.id))
    found, listed = get(port(added.id))
    assert found["ElementName"] == "second" and listed == 0
    virt.backend.remove_device(probe.id, added.id)
    assert get(port(added.id))[0] == CIM_ERR_NOT_FOUND
