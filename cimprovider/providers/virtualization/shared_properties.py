"""Built instances kept for thousands of VMs, compactly: of the forty-odd
properties of a VM's Msvm_ComputerSystem most hold one of a few values
(a caption, a NULL, an enabled state), so a kept instance shares each such
property object with every other kept instance that has it.

Safe because nothing changes a property object of a built instance in
place: the engine and the query layer copy a property before they change
it. The one exception, a property a provider moves in place (the run
time), is named and never shared. Each property shares at most LIMIT
distinct values, so the table stays small however many VMs come and go;
properties whose values are the VMs' own (names, GUIDs) simply stop being
shared once they reach it."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from pywbem import CIMInstance, CIMProperty
from pywbem._cim_types import CIMType

LIMIT = 64
_SCALARS = (str, bool, int, float)


def _value_key(value: Any) -> Any:
    """A hashable, type-exact key of a value, or None (not shareable).
    Types are part of it: Uint16(2) and Uint32(2) are equal ints."""
    if value is None:
        return ()
    if isinstance(value, _SCALARS) and (not isinstance(value, CIMType) or isinstance(value, int)):
        return (type(value), value)
    if isinstance(value, list) and all(isinstance(v, _SCALARS) for v in value):
        return ("list", tuple((type(v), v) for v in value))
    return None


def _property_key(prop: CIMProperty) -> Any:
    value = _value_key(prop.value)
    if value is None:
        return None
    return (prop.name, prop.type, prop.is_array, prop.embedded_object, prop.reference_class, value)


class PropertySharing:
    def __init__(self, moving: frozenset[str] = frozenset()) -> None:
        self._moving = frozenset(name.lower() for name in moving)
        self._table: dict[Any, tuple[str, CIMProperty]] = {}
        self._shared_values: Counter[str] = Counter()
        self._lock = threading.Lock()

    def compact(self, instance: CIMInstance) -> CIMInstance:
        """`instance` itself, its common properties now shared objects."""
        items = instance.properties._data  # NocaseDict: {lower-case name: (name, property)}
        with self._lock:
            shared = {lower: found for lower, entry in items.items() if (found := self._shared(lower, entry)) is not entry}
        items.update(shared)
        return instance

    def _shared(self, lower: str, entry: tuple[str, CIMProperty]) -> tuple[str, CIMProperty]:
        if lower in self._moving:
            return entry
        key = _property_key(entry[1])
        if key is None:
            return entry
        found = self._table.get(key)
        if found is None:
            if self._shared_values[lower] >= LIMIT:
                return entry
            self._shared_values[lower] += 1
            self._table[key] = found = entry
        return found
