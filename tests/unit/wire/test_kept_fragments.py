"""Kept entries stored compactly: the bytes one VM's entry shares with the
others of its reply shape are held once, and every reply is still the very
bytes the encoder would write."""

from __future__ import annotations

from pywbem import CIMInstance, CIMInstanceName, CIMProperty

from cimprovider.wire import IntrinsicCall, IntrinsicResult, KeptInstance, KeptXml, write_intrinsic_reply
from cimprovider.wire.kept_fragments import MAX_FRAGMENTS, MAX_RUNS, Fragments

_CALL = IntrinsicCall("1", "EnumerateInstances", "root/virtualization/v2")
_LONG = "Microsoft Virtual Machine " * 20


def _vm(name: str) -> CIMInstance:
    path = CIMInstanceName("Msvm_ComputerSystem", {"Name": name}, namespace="root/virtualization/v2")
    properties = [CIMProperty("Caption", _LONG), CIMProperty("Name", name), CIMProperty("Description", _LONG), CIMProperty("ElementName", f"vm {name}")]
    return CIMInstance("Msvm_ComputerSystem", properties=properties, path=path)


class Vms:
    def build(self, owner: str, key: object) -> CIMInstance:
        return _vm(owner)

    def live(self, owner: object) -> dict:
        return {}


def _reply(names: list[str], store: KeptXml | None) -> bytes:
    items = [KeptInstance("shape", name, "cs", Vms()) if store else _vm(name) for name in names]
    return bytes(write_intrinsic_reply(_CALL, IntrinsicResult(value=items), "host", store))


def test_entries_of_one_shape_hold_their_common_bytes_once():
    store = KeptXml()
    names = [f"VM-{i}" for i in range(5)]
    built = _reply(names, store)
    (owners,) = store._shapes.values()
    second, third = owners["VM-1"]["cs"], owners["VM-2"]["cs"]
    assert isinstance(second, tuple) and len(second) == len(third)
    shared = [a for a, b in zip(second, third) if a is b]
    assert sum(map(len, shared)) > 1000  # the common properties, once for both
    assert all(b"VM-1" not in piece for piece in shared)
    assert _reply(names, store) == built == _reply(names, None)
    reply_bytes = sum(len(b"".join(e["cs"]) if isinstance(e["cs"], tuple) else e["cs"]) for e in owners.values())
    assert 0 < store.size < reply_bytes  # the budget counts what is held, the common bytes once


def test_what_a_shape_learns_is_bounded():
    fragments = Fragments()
    for i in range(4 * MAX_FRAGMENTS):
        entry = b"".join(f'<PROPERTY NAME="P{j}"><VALUE>{i}-{j}</VALUE></PROPERTY>'.encode() for j in range(3))
        assert b"".join(_pieces(fragments.compact(entry))) == entry
    assert len(fragments._known) <= MAX_FRAGMENTS and len(fragments._runs) <= MAX_RUNS


def _pieces(stored: bytes | tuple[bytes, ...]) -> tuple[bytes, ...]:
    return (stored,) if isinstance(stored, bytes) else stored
