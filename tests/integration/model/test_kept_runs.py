"""A kept enumeration answered whole (one kept list of pieces per class and
reply shape) is byte for byte what the server builds without keeping, and
every kind of change drops the whole lists, so the next reply shows it.
Pull enumerations answer their slices from the same lists, and a change
between two pulls shows in the next one.

The VMs here are off and have no snapshots: nothing in their instances
moves by itself, so every kept class is answered from a whole list."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from uuid import UUID

import pytest

from cimprovider.backends.protocol import change_power_state
from cimprovider.schemas.devices import NetworkAdapter
from cimprovider.schemas.power import PowerRequest
from cimprovider.schemas.vm import SystemSettings
from tests.integration.model.kept_support import Pair, pulled, reply, request, server_pair, without_uptime

WHOLE_CLASSES = (
    "Msvm_ComputerSystem",
    "Msvm_VirtualSystemSettingData",
    "CIM_ResourceAllocationSettingData",
    "Msvm_MemorySettingData",
    "Msvm_SyntheticEthernetPortSettingData",
)
FLAGS = (
    {},
    {"DeepInheritance": False, "IncludeClassOrigin": True},
    {"PropertyList": ["ElementName", "InstanceID"]},
    {"PropertyList": []},
)
DEADLINE = 60.0


@pytest.fixture(scope="module", params=["joined", "in pieces"])
def pair(tmp_path_factory, request):
    with server_pair(tmp_path_factory.mktemp("whole")) as pair:
        if request.param == "in pieces":
            pair.store.join_bytes = 0  # every whole list kept as its entries' pieces, with their ends
        backend = pair.backend
        for name in ("first", "second", "third"):
            vm = backend.define_vm(SystemSettings(name=name))
            backend.add_device(vm.id, NetworkAdapter(name=f"{name} nic", switch_id=backend.list_switches()[0].id))
        yield pair


def enumeration(classname: str, **flags) -> bytes:
    return request("EnumerateInstances", ClassName=classname, **flags)


def answered_whole(pair: Pair, body: bytes) -> bytes:
    """The kept server's reply from its whole list: the first reply keeps
    every entry, the second keeps the whole list (checked) and is answered
    from it, as is the third."""
    pair.store.forget_all()
    first = reply(pair.kept, body)
    second = reply(pair.kept, body)
    assert pair.store.whole_lists() >= 1, "the enumeration kept no whole list"
    again = reply(pair.kept, body)
    assert first == second == again
    return again


@pytest.mark.parametrize("classname", WHOLE_CLASSES)
def test_a_whole_list_answers_the_same_bytes_as_a_built_reply(pair, classname):
    for flags in FLAGS:
        body = enumeration(classname, **flags)
        assert answered_whole(pair, body) == reply(pair.built, body), (classname, flags)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.02)


def check_change(pair: Pair, vm: UUID | None, change: Callable[[], object]) -> None:
    """Every class answered whole before `change`; after it (once the bus
    has made the server forget `vm`), each reply is what a server that
    keeps nothing says, and some differ from before."""
    before = {}
    for classname in WHOLE_CLASSES:
        before[classname] = answered_whole(pair, enumeration(classname))
    for _ in range(2):  # keep every class's entries, then its whole list, at once
        for classname in WHOLE_CLASSES:
            reply(pair.kept, enumeration(classname))
    assert pair.store.whole_lists() >= len(WHOLE_CLASSES)
    change()
    if vm is not None:
        wait_until(lambda: pair.store.kept_for(vm) == 0, f"what was kept for {vm} was not forgotten")
    after = {}
    for classname in WHOLE_CLASSES:
        after[classname] = without_uptime(reply(pair.kept, enumeration(classname)))
        assert after[classname] == without_uptime(reply(pair.built, enumeration(classname))), classname
    assert after != {name: without_uptime(body) for name, body in before.items()}, "the change did not show"


def some_vm(pair: Pair, name: str) -> UUID:
    return pair.backend.define_vm(SystemSettings(name=name)).id


def test_modified_settings_drop_the_whole_lists(pair):
    vm = some_vm(pair, "modified")
    backend = pair.backend
    check_change(pair, vm, lambda: backend.modify_vm(vm, backend.get_vm(vm).settings.replace(name="renamed", notes="changed")))


def test_a_modified_resource_drops_the_whole_lists(pair):
    vm = some_vm(pair, "memory")
    backend = pair.backend
    check_change(pair, vm, lambda: backend.modify_device(vm, backend.get_vm(vm).memory.replace(startup_mb=2048)))


def test_an_added_resource_drops_the_whole_lists(pair):
    vm = some_vm(pair, "added")
    check_change(pair, vm, lambda: pair.backend.add_device(vm, NetworkAdapter(name="Added")))


def test_a_state_change_drops_the_whole_lists(pair):
    vm = some_vm(pair, "started")
    check_change(pair, vm, lambda: change_power_state(pair.backend, vm, PowerRequest.START))
    change_power_state(pair.backend, vm, PowerRequest.STOP)


def test_a_created_vm_shows_in_the_whole_lists(pair):
    created: list[UUID] = []
    check_change(pair, None, lambda: created.append(some_vm(pair, "created")))


def test_a_destroyed_vm_leaves_the_whole_lists(pair):
    vm = some_vm(pair, "destroyed")
    check_change(pair, vm, lambda: pair.backend.destroy_vm(vm))


def test_a_snapshot_shows_in_the_whole_lists(pair):
    # A snapshot of a VM without disks is no VM event: it shows as a new
    # instance and as the Parent written afresh into the kept settings.
    vm = some_vm(pair, "snapshot")
    check_change(pair, None, lambda: pair.backend.create_snapshot(vm, name="taken"))


# --- pull enumerations ------------------------------------------------------

PULL_COUNTS = (1, 2, 3, 100)


@pytest.mark.parametrize("classname", WHOLE_CLASSES)
def test_a_pull_enumeration_keeps_a_whole_list_and_answers_the_same_bytes(pair, classname):
    for count in PULL_COUNTS:
        for properties in (None, ["ElementName", "InstanceID"]):
            built = pulled(pair.built, classname, count, PropertyList=properties)
            pair.store.forget_all()
            assert pulled(pair.kept, classname, count, PropertyList=properties) == built, (classname, count)
            assert pair.store.whole_lists() == 0
            # The next pull finds every entry kept: it keeps the whole list
            # at its start, and every slice comes from it.
            assert pulled(pair.kept, classname, count, PropertyList=properties) == built, (classname, count)
            assert pair.store.whole_lists() >= 1, "the pull enumeration kept no whole list"
            assert pulled(pair.kept, classname, count, PropertyList=properties) == built, (classname, count)


def test_pulls_and_enumerations_of_one_shape_share_the_whole_list(pair):
    body = request("OpenEnumerateInstances", ClassName="Msvm_ComputerSystem", MaxObjectCount=10_000)
    pair.store.forget_all()
    whole = reply(pair.kept, body)  # one batch: keeps every entry
    assert reply(pair.kept, body) == whole  # and the whole list of its shape
    assert pair.store.whole_lists() == 1
    assert pulled(pair.kept, "Msvm_ComputerSystem", 2) == pulled(pair.built, "Msvm_ComputerSystem", 2)
    assert pair.store.whole_lists() == 1, "the slices kept a list of their own"
    assert reply(pair.kept, body) == whole


def names_in(body: bytes) -> set[bytes]:
    return set(re.findall(rb'<PROPERTY NAME="ElementName" TYPE="string"><VALUE>([^<]*)</VALUE>', body))


def instances_in(pages: list[bytes]) -> list[bytes]:
    return sorted(re.findall(rb"<VALUE.INSTANCEWITHPATH>.*?</VALUE.INSTANCEWITHPATH>", b"".join(pages), re.S))


def test_a_change_between_pulls_shows_in_the_next_pull(pair):
    """The pull's first slice comes from the whole list; a VM renamed
    before the next pull shows renamed, and the instances pulled in all are
    those a server that keeps nothing has once the rename is done."""
    backend = pair.backend
    for name in ("later-a", "later-b", "later-c"):
        some_vm(pair, name)
    classname = "Msvm_VirtualSystemSettingData"
    reply(pair.kept, enumeration(classname))
    pages = [reply(pair.kept, request("OpenEnumerateInstances", ClassName=classname, MaxObjectCount=1))]
    shown = names_in(pages[0])
    target = next(vm for vm in backend.list_vms() if vm.settings.name.encode() not in shown)
    backend.modify_vm(target.id, backend.get_vm(target.id).settings.replace(name="renamed between pulls"))
    wait_until(lambda: pair.store.kept_for(target.id) == 0, "the renamed VM was not forgotten")
    while context := context_of(pages[-1]):
        pages.append(reply(pair.kept, request("PullInstancesWithPath", EnumerationContext=context.decode(), MaxObjectCount=1)))
    assert any(b"renamed between pulls" in page for page in pages[1:]), "the rename did not show"
    assert instances_in(pages) == instances_in(pulled(pair.built, classname, 100))
    # The next enumeration keeps the renamed VM's entry again, and the one
    # after it finds every entry kept and keeps a new whole list.
    for _ in range(2):
        assert reply(pair.kept, enumeration(classname)) == reply(pair.built, enumeration(classname))
    assert pair.store.whole_lists() >= 1, "no new whole list was kept"
    assert reply(pair.kept, enumeration(classname)) == reply(pair.built, enumeration(classname))


def context_of(body: bytes) -> bytes:
    found = re.search(rb'NAME="EnumerationContext"[^>]*><VALUE>([^<]*)</VALUE>', body)
    return found.group(1) if found else b""
