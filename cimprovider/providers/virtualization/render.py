"""Building CIMInstances from plain values, typed by the class declaration.

Providers describe an instance as a dict of property values; the renderer
turns it into a CIMInstance with every declared property (NULL where no
value was given) in the class's order — so the engine's fast path can pass
it on without a copy — or, under a property list, with only the kept ones,
so nothing the client drops is built.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pywbem import (
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
    Sint8,
    Sint16,
    Sint32,
    Sint64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    cimvalue,
)
from pywbem._cim_types import CIMType
from pywbem._nocasedict import NocaseDict

from cimprovider.providers.base import PropertySet
from cimprovider.repository import ClassRepository

NAMESPACE = "root/virtualization/v2"


@dataclass(frozen=True, slots=True)
class Declared:
    name: str
    lower: str
    type: str
    is_array: bool
    reference_class: str | None
    embedded_object: str | None


class Renderer:
    def __init__(self, repository: ClassRepository, namespace: str = NAMESPACE) -> None:
        self.repository = repository
        self.namespace = namespace
        self._declared: dict[str, tuple[Declared, ...]] = {}
        self._keys: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        # Instances built so far: how tests and benchmarks see that a query
        # for one VM built one VM's instances, without timing anything.
        # Unlocked, so an estimate under concurrent operations.
        self.rendered = 0

    def declared(self, classname: str) -> tuple[Declared, ...]:
        found = self._declared.get(classname)
        if found is None:
            cls = self.repository.get_class(self.namespace, classname)
            found = tuple(
                Declared(p.name, p.name.lower(), p.type, bool(p.is_array), p.reference_class, p.embedded_object)
                for p in cls.properties.values()
            )
            keys = tuple(p.name for p in cls.properties.values() if "Key" in p.qualifiers and p.qualifiers["Key"].value)
            with self._lock:
                self._declared[classname] = found
                self._keys[classname] = keys
        return found

    def key_names(self, classname: str) -> tuple[str, ...]:
        self.declared(classname)
        return self._keys[classname]

    def path(self, classname: str, values: Mapping[str, Any]) -> CIMInstanceName:
        keys = [(name, values[name]) for name in self.key_names(classname)]
        if all(isinstance(value, str) for _, value in keys):
            return _string_keyed_path(classname, keys, self.namespace)
        return CIMInstanceName(classname, keybindings=dict(keys), namespace=self.namespace)

    def instance(self, classname: str, values: Mapping[str, Any], keep: PropertySet = None) -> CIMInstance:
        self.rendered += 1
        properties = {
            decl.lower: (decl.name, _declared_property(decl, values.get(decl.name)))
            for decl in self.declared(classname)
            if keep is None or decl.lower in keep
        }
        return _instance(classname, properties, self.path(classname, values))

    def embedded(self, classname: str, values: Mapping[str, Any], only_given: bool = False) -> CIMInstance:
        """An instance to embed in a property or parameter: no path, and
        with `only_given`, only the properties that have a value."""
        properties = [
            CIMProperty(d.name, values.get(d.name), type=d.type, is_array=d.is_array,
                        reference_class=d.reference_class, embedded_object=d.embedded_object)
            for d in self.declared(classname)
            if not only_given or values.get(d.name) is not None
        ]
        return CIMInstance(classname, properties=properties)

    def reference(self, classname: str, keys: Mapping[str, Any]) -> CIMInstanceName:
        return CIMInstanceName(classname, keybindings=dict(keys), namespace=self.namespace)


# Building instances is most of the cost of a cold enumeration, and most of
# that is pywbem re-checking, per property, what the class declaration
# already settles (type, array-ness, embedding). Values here come from the
# backend's validated models, so the objects are assembled directly: the
# same attributes pywbem's constructors would set, qualifiers left to
# pywbem's lazy default. tests/unit/providers/virtualization/test_render.py
# compares the result with pywbem's own construction.
_new = object.__new__


# pywbem's integer types check their range in __new__, which costs more
# than the rest of a property; the backend's models have checked it already.
_INTEGER_TYPES = {t.cimtype: t for t in (Uint8, Uint16, Uint32, Uint64, Sint8, Sint16, Sint32, Sint64)}


def _typed(value: Any, cim_type: str) -> Any:
    integer = _INTEGER_TYPES.get(cim_type)
    if integer is not None and type(value) is int:
        return int.__new__(integer, value)
    return cimvalue(value, cim_type)  # a datetime, a real, a char16…


def _declared_property(decl: Declared, value: Any) -> CIMProperty:
    if value is not None and not isinstance(value, (CIMType, str, bool, CIMInstance, CIMInstanceName)):
        if isinstance(value, list):
            value = [v if v is None or isinstance(v, (CIMType, str, bool)) else _typed(v, decl.type) for v in value]
        else:
            value = _typed(value, decl.type)
    prop = _new(CIMProperty)
    prop._name = decl.name
    prop._value = value
    prop._type = decl.type
    prop._class_origin = None
    prop._array_size = None
    prop._propagated = None
    prop._is_array = decl.is_array
    prop._reference_class = decl.reference_class
    prop._qualifiers = None
    prop._embedded_object = decl.embedded_object
    return prop


def _no_case(items: dict[str, tuple[str, Any]]) -> NocaseDict:
    """A NocaseDict from {lower-case name: (name, value)}: its own storage
    layout, filled at once instead of key by key (CIM names are ASCII, so
    lower() is the casefold it would compute)."""
    table = NocaseDict()
    table._data = items
    return table


def _instance(classname: str, properties: dict[str, tuple[str, CIMProperty]], path: CIMInstanceName) -> CIMInstance:
    instance = _new(CIMInstance)
    instance._classname = classname
    instance._properties = _no_case(properties)
    instance._qualifiers = None
    instance._path = path
    return instance


def _string_keyed_path(classname: str, keys: list[tuple[str, str]], namespace: str) -> CIMInstanceName:
    path = _new(CIMInstanceName)
    path._classname = classname
    path._keybindings = _no_case({name.lower(): (name, value) for name, value in keys})
    path._host = None
    path._namespace = namespace
    return path
