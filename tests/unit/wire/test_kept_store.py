"""The kept-XML store: what a change forgets, what a race may not put
back, and the memory budget."""

from __future__ import annotations

from pywbem import CIMInstance, CIMInstanceName, CIMProperty, Uint64

from cimprovider.wire import IntrinsicCall, IntrinsicResult, KeptInstance, KeptXml, write_intrinsic_reply
from cimprovider.wire.kept_fragments import OBJECT_BYTES


def test_forgetting_an_owner_drops_its_entries_in_every_shape_and_no_other():
    store = KeptXml()
    for shape in ("named", "with path"):
        for owner in ("a", "b"):
            store.put(shape, owner, 1, b"<x/>", store.token(owner))
    store.forget("a")
    assert store.kept_for("a") == 0 and store.kept_for("b") == 2


def test_an_entry_built_before_a_change_is_not_kept():
    store = KeptXml()
    token = store.token("a")  # taken before building
    store.forget("a")  # the VM changed meanwhile
    store.put("named", "a", 1, b"stale", token)
    assert store.kept_for("a") == 0
    store.put("named", "a", 1, b"fresh", store.token("a"))
    assert store.kept_for("a") == 1


def test_forgetting_everything_refuses_what_was_built_before():
    store = KeptXml()
    token = store.token("a")
    store.put("named", "b", 1, b"<x/>", store.token("b"))
    store.forget_all()
    store.put("named", "a", 1, b"stale", token)
    assert store.kept_for("a") == 0 and store.kept_for("b") == 0 and store.size == 0


def test_over_the_budget_the_least_recently_used_shape_goes():
    # An entry of one piece is what its shape learns: 120 bytes and a bytes object's own.
    held = 120 + OBJECT_BYTES
    store = KeptXml(budget=held + 50)
    store.put("old", "a", 1, b"x" * 120, store.token("a"))
    assert store.size == held
    store.put("new", "a", 1, b"y" * 120, store.token("a"))
    assert store.owners("old") is None and store.owners("new") is not None and store.size == held
    store.put("new", "b", 1, b"z" * 120, store.token("b"))  # one shape alone past the budget: not kept
    assert store.kept_for("b") == 0 and store.size == held


def test_the_budget_counts_what_entries_hold_not_their_reply_bytes():
    # Entries that differ in one value: the rest is held once for the shape.
    entries = [f'<PROPERTY NAME="Caption"><VALUE>{"common " * 50}</VALUE></PROPERTY><PROPERTY NAME="Name"><VALUE>vm-{i:04}</VALUE></PROPERTY>'.encode() for i in range(1000)]
    store = KeptXml(budget=sum(map(len, entries)) // 4)
    for i, entry in enumerate(entries):
        store.put("shape", i, 1, entry, store.token(i))
    assert sum(store.kept_for(i) for i in range(1000)) == 1000, "the entries did not fit in a quarter of their reply bytes"
    assert 0 < store.size <= store.budget
    for i in range(1000):
        store.forget(i)
    fragments = store._fragments["shape"]
    assert store.size == fragments.learnt, "forgetting every entry left memory counted"


def _running_vm(uptime: int) -> CIMInstance:
    path = CIMInstanceName("Msvm_ComputerSystem", {"Name": "VM"}, namespace="root/virtualization/v2")
    properties = [CIMProperty("Name", "VM"), CIMProperty("OnTimeInMilliseconds", Uint64(uptime)), CIMProperty("ElementName", "vm")]
    return CIMInstance("Msvm_ComputerSystem", properties=properties, path=path)


class RunningVm:
    """Builds one running VM's instance, counting the builds."""

    def __init__(self) -> None:
        self.uptime = 10
        self.built = 0

    def build(self, owner: object, key: object) -> CIMInstance:
        self.built += 1
        return _running_vm(self.uptime)

    def live(self, owner: object) -> dict:
        return {"OnTimeInMilliseconds": Uint64(self.uptime)}


def test_a_live_property_is_written_afresh_from_kept_bytes():
    store = KeptXml()
    vm = RunningVm()
    call = IntrinsicCall("1", "EnumerateInstances", "root/virtualization/v2")

    def kept_reply() -> bytes:
        return bytes(write_intrinsic_reply(call, IntrinsicResult(value=[KeptInstance("shape", "VM", "cs", vm)]), "host", store))

    first = kept_reply()
    vm.uptime = 99
    second = kept_reply()
    uncached = bytes(write_intrinsic_reply(call, IntrinsicResult(value=[_running_vm(99)]), "host"))
    assert vm.built == 1  # the second reply came from kept bytes
    assert b"<VALUE>10</VALUE>" in first and second == uncached
