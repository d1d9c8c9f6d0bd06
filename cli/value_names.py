"""Names for numbers: a property's ValueMap/Values qualifiers turn JobState
7 into "Completed" in tables, while JSON, YAML and CSV keep the number
scripts compare against.

Classes are read once per command and server (GetClass with qualifiers)."""

from __future__ import annotations

from collections.abc import Mapping

import pywbem


class Named(int):
    """An integer that prints as its name in a table (and as itself in JSON)."""

    label: str

    def __new__(cls, value: int, label: str) -> Named:
        named = super().__new__(cls, value)
        named.label = label
        return named


class Labelled(str):
    """A text that a table shows longer (a VM's state with why it is held)
    while JSON, YAML and CSV keep the plain value scripts compare against."""

    label: str

    def __new__(cls, value: str, label: str) -> Labelled:
        labelled = super().__new__(cls, value)
        labelled.label = label
        return labelled


class ValueNames:
    """Value names per class of one server, read on first use."""

    def __init__(self, conn: pywbem.WBEMConnection) -> None:
        self.conn = conn
        self._classes: dict[str, dict[str, dict[int, str]]] = {}

    def of(self, classname: str) -> dict[str, dict[int, str]]:
        key = classname.lower()
        if key not in self._classes:
            try:
                cls = self.conn.GetClass(classname, LocalOnly=False, IncludeQualifiers=True)
            except pywbem.Error:
                cls = None  # no names then; the numbers still show
            self._classes[key] = _names_of(cls) if cls is not None else {}
        return self._classes[key]

    def apply(self, instance: pywbem.CIMInstance, record: Mapping[str, object]) -> dict[str, object]:
        names = self.of(instance.classname)
        return {key: _named(value, names.get(key.lower())) for key, value in record.items()}


def _names_of(cls: pywbem.CIMClass) -> dict[str, dict[int, str]]:
    found: dict[str, dict[int, str]] = {}
    for name, prop in cls.properties.items():
        value_map, values = prop.qualifiers.get("ValueMap"), prop.qualifiers.get("Values")
        if value_map is None or values is None or not value_map.value or not values.value:
            continue
        pairs = {int(key): label for key, label in zip(value_map.value, values.value) if key.lstrip("-").isdigit()}
        if pairs:
            found[name.lower()] = pairs
    return found


def _named(value: object, names: dict[int, str] | None) -> object:
    if names is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in names:
        return Named(value, names[value])
    if isinstance(value, list):
        return [_named(v, names) for v in value]
    return value
