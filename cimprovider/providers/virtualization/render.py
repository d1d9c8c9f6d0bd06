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

from pywbem import CIMInstance, CIMInstanceName, CIMProperty

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
        return CIMInstanceName(
            classname,
            keybindings={name: values[name] for name in self.key_names(classname)},
            namespace=self.namespace,
        )

    def instance(self, classname: str, values: Mapping[str, Any], keep: PropertySet = None) -> CIMInstance:
        properties = []
        for decl in self.declared(classname):
            if keep is not None and decl.lower not in keep:
                continue
            properties.append(
                CIMProperty(
                    decl.name,
                    values.get(decl.name),
                    type=decl.type,
                    is_array=decl.is_array,
                    reference_class=decl.reference_class,
                    embedded_object=decl.embedded_object,
                )
            )
        return CIMInstance(classname, properties=properties, path=self.path(classname, values))

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
