"""Kept reply XML is byte for byte what the server builds without it, for
every class, flag, property list and enumeration form, and every kind of
change forgets what it must (the VM it touches) and nothing else."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from uuid import UUID

import pytest
from pywbem import CIMInstance

from cimprovider.backends.protocol import change_power_state
from cimprovider.providers.virtualization.systems.systems import HOST
from cimprovider.schemas.devices import NetworkAdapter
from cimprovider.schemas.power import PowerRequest
from cimprovider.schemas.vm import SystemSettings
from cimprovider.wire import IntrinsicCall
from tests.integration.model.kept_support import NS, Pair, populate, pulled, reply, request, server_pair, uptimes, without_uptime

KEPT_CLASSES = (
    "Msvm_ComputerSystem",
    "Msvm_VirtualSystemSettingData",
    "CIM_ResourceAllocationSettingData",
    "Msvm_ResourceAllocationSettingData",
    "Msvm_ProcessorSettingData",
    "Msvm_MemorySettingData",
    "Msvm_StorageAllocationSettingData",
    "Msvm_SyntheticEthernetPortSettingData",
    "Msvm_EthernetPortAllocationSettingData",
)
PROPERTY_LISTS = (None, [], ["ElementName", "InstanceID", "OnTimeInMilliseconds", "Parent"], ["NoSuchProperty"], ["elementname"])
DEADLINE = 60.0


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    with server_pair(tmp_path_factory.mktemp("kept")) as pair:
        populate(pair.backend)
        yield pair


def enumeration(classname: str, **flags) -> bytes:
    return request("EnumerateInstances", ClassName=classname, **flags)


def same(pair: Pair, body: bytes) -> None:
    """The kept server's first reply (built and kept) and second (from what
    it kept) equal the reply of the server that keeps nothing. Figures that
    move by themselves in classes nothing keeps (a processor's load) may
    move between the replies: such a class is asked again, and the kept
    replies must match a built one taken just before or just after."""
    for _ in range(5):
        built = without_uptime(reply(pair.built, body))
        first = without_uptime(reply(pair.kept, body))  # builds and keeps
        again = without_uptime(reply(pair.kept, body))  # from what was kept
        later = without_uptime(reply(pair.built, body))
        if first in (built, later) and again in (built, later):
            return
    assert first == built, around_difference(built, first)
    assert again == built, around_difference(built, again)


def around_difference(expected: bytes, found: bytes) -> str:
    at = next((i for i, (x, y) in enumerate(zip(expected, found)) if x != y), min(len(expected), len(found)))
    return f"built: …{expected[at - 400:at + 80]!r}\nkept:  …{found[at - 400:at + 80]!r}"


def served_classes(pair: Pair) -> list[str]:
    names = reply(pair.built, request("EnumerateClassNames", DeepInheritance=True))
    return sorted(name.decode() for name in re.findall(rb'<CLASSNAME NAME="([^"]+)"', names))


def test_every_class_answers_the_same_bytes_kept_or_built(pair):
    classes = served_classes(pair)
    assert len(classes) > 100 and set(KEPT_CLASSES) <= set(classes) | {"CIM_ResourceAllocationSettingData"}
    for classname in classes:
        same(pair, enumeration(classname))
        same(pair, enumeration(classname, DeepInheritance=False, IncludeClassOrigin=True, PropertyList=["ElementName"]))
        same(pair, enumeration(classname, IncludeQualifiers=True, PropertyList=[]))


@pytest.mark.parametrize("classname", KEPT_CLASSES)
def test_kept_classes_answer_the_same_bytes_under_every_flag_and_property_list(pair, classname):
    for deep in (True, False):
        for origin in (True, False):
            for qualifiers in (True, False):
                for properties in PROPERTY_LISTS:
                    flags = dict(DeepInheritance=deep, IncludeClassOrigin=origin, IncludeQualifiers=qualifiers)
                    same(pair, enumeration(classname, PropertyList=properties, **flags))


@pytest.mark.parametrize("classname", KEPT_CLASSES)
def test_pull_enumerations_answer_the_same_bytes_kept_or_built(pair, classname):
    for properties in (None, ["ElementName"]):
        built = [without_uptime(r) for r in pulled(pair.built, classname, 2, PropertyList=properties)]
        for _ in range(2):
            assert [without_uptime(r) for r in pulled(pair.kept, classname, 2, PropertyList=properties)] == built


def test_a_running_vms_uptime_moves_in_kept_replies(pair):
    body = enumeration("Msvm_ComputerSystem")
    first = uptimes(reply(pair.kept, body))
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if max(uptimes(reply(pair.kept, body))) > max(first):
            return
        time.sleep(0.05)
    raise AssertionError("the running VM's OnTimeInMilliseconds stayed where it was")


# --- every kind of change ---------------------------------------------------


def kept_replies(pair: Pair) -> dict[str, bytes]:
    replies = {}
    for classname in KEPT_CLASSES:
        reply(pair.kept, enumeration(classname))
        replies[classname] = without_uptime(reply(pair.kept, enumeration(classname)))
    return replies


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.02)


def check_change(pair: Pair, changed: UUID, untouched: UUID, change: Callable[[], object], forgets: bool = True) -> None:
    """After `change`, kept replies are what a server that keeps nothing
    says, and differ from before; `changed` was forgotten, `untouched` not."""
    before = kept_replies(pair)
    assert pair.store.kept_for(changed) and pair.store.kept_for(untouched)
    change()
    if forgets:
        wait_until(lambda: pair.store.kept_for(changed) == 0, f"what was kept for {changed} was not forgotten")
    assert pair.store.kept_for(untouched), "a change to one VM forgot another's replies"
    after = kept_replies(pair)
    for classname in KEPT_CLASSES:
        assert after[classname] == without_uptime(reply(pair.built, enumeration(classname))), classname
    assert after != before, "the change did not show"


def two_vms(pair: Pair, name: str) -> tuple[UUID, UUID]:
    return pair.backend.define_vm(SystemSettings(name=f"{name}-a")).id, pair.backend.define_vm(SystemSettings(name=f"{name}-b")).id


def test_a_state_change_forgets_the_vm(pair):
    a, b = two_vms(pair, "state")
    check_change(pair, a, b, lambda: change_power_state(pair.backend, a, PowerRequest.START))


def test_modified_settings_forget_the_vm(pair):
    a, b = two_vms(pair, "modify")
    backend = pair.backend
    check_change(pair, a, b, lambda: backend.modify_vm(a, backend.get_vm(a).settings.replace(notes="changed")))


def test_a_rename_forgets_the_vm(pair):
    a, b = two_vms(pair, "rename")
    backend = pair.backend
    check_change(pair, a, b, lambda: backend.modify_vm(a, backend.get_vm(a).settings.replace(name="renamed")))


def test_a_modified_resource_forgets_the_vm(pair):
    a, b = two_vms(pair, "memory")
    backend = pair.backend
    check_change(pair, a, b, lambda: backend.modify_device(a, backend.get_vm(a).memory.replace(startup_mb=2048)))


def test_an_added_resource_forgets_the_vm(pair):
    a, b = two_vms(pair, "add")
    check_change(pair, a, b, lambda: pair.backend.add_device(a, NetworkAdapter(name="Added")))


def test_a_removed_resource_forgets_the_vm(pair):
    a, b = two_vms(pair, "remove")
    nic = pair.backend.add_device(a, NetworkAdapter(name="Going"))
    check_change(pair, a, b, lambda: pair.backend.remove_device(a, nic.id))


def test_a_deleted_vm_is_forgotten(pair):
    a, b = two_vms(pair, "delete")
    check_change(pair, a, b, lambda: pair.backend.destroy_vm(a))


def test_a_snapshot_shows_in_the_vms_kept_settings(pair):
    # A snapshot of a VM without disks changes no VM the bus reports, only
    # the Parent of its settings: that is written afresh on every reply.
    a, b = two_vms(pair, "snapshot")
    check_change(pair, a, b, lambda: pair.backend.create_snapshot(a, name="taken"), forgets=False)


def test_callers_inside_the_server_get_instances_not_kept_items(pair):
    # The web console runs CIM operations in-process and reads the instances.
    call = IntrinsicCall("1", "EnumerateInstances", NS, {"ClassName": "Msvm_ComputerSystem"})
    found = list(pair.kept.cimom.intrinsic(call).value)
    assert len(found) >= 3 and all(isinstance(instance, CIMInstance) for instance in found)


@pytest.mark.parametrize("classname", ["Msvm_ComputerSystem", "Msvm_VirtualSystemSettingData"])
def test_a_vm_defined_or_destroyed_between_two_enumerations_shows(pair, classname):
    # The VMs' list is kept too, until the bus says one came or went; the
    # newcomer's snapshot brings its own settings, which must go with it.
    body = enumeration(classname)
    for _ in range(2):
        reply(pair.kept, body)
    vm = pair.backend.define_vm(SystemSettings(name=f"newcomer-{classname}"))
    pair.backend.create_snapshot(vm.id, name=f"newcomer's snapshot {classname}")
    name = str(vm.id).upper().encode()
    wait_until(lambda: name in reply(pair.kept, body), "a defined VM is missing from the kept enumeration")
    assert without_uptime(reply(pair.kept, body)) == without_uptime(reply(pair.built, body))
    pair.backend.destroy_vm(vm.id)
    wait_until(lambda: name not in reply(pair.kept, body), "a destroyed VM stays in the kept enumeration")
    assert without_uptime(reply(pair.kept, body)) == without_uptime(reply(pair.built, body))


def test_a_change_of_the_hosts_health_shows_in_its_kept_instance(pair, tmp_path):
    body = enumeration("Msvm_ComputerSystem")
    for _ in range(2):
        healthy = without_uptime(reply(pair.kept, body))
    assert pair.store.kept_for(HOST), "the host's instance is not kept"
    health = pair.parts.metrics.health
    roots, floor = health.storage_roots, health.minimum_free_mb
    # A storage root with less free space than asked: the sampler finds the host degraded.
    health.storage_roots, health.minimum_free_mb = [tmp_path], 1 << 40
    try:
        health.on_interval()
        degraded = without_uptime(reply(pair.kept, body))
        assert degraded != healthy and b"free" in degraded
        assert degraded == without_uptime(reply(pair.kept, body)) == without_uptime(reply(pair.built, body))
    finally:
        health.storage_roots, health.minimum_free_mb = roots, floor
        health.on_interval()
    assert without_uptime(reply(pair.kept, body)) == healthy == without_uptime(reply(pair.built, body))
