"""Embedded instances as Hyper-V's clients send them, read leniently.

A parameter declared EmbeddedInstance arrives as a CIMInstance when the
engine could parse it, else as the text: CIM-XML `<INSTANCE>` from WMI's
GetText_ or .NET, possibly with WMI system properties (`__PATH`,
`__CLASS`, CLASSORIGIN="___SYSTEM"), uint64 written as strings, and
PROPERTY elements without TYPE. Whatever the form, the result is a
`PropertyBag`: lower-case names to plain values (str, int, bool, lists),
with NULL as None. The typed readers then name the property at fault, so a
bad value becomes 32773 with a message a user can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from pywbem import CIMInstance, CIMInstanceName

from cimprovider.providers.virtualization.errors import MethodFailure, invalid_parameter, INVALID_PARAMETER

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)


@dataclass
class PropertyBag:
    classname: str
    values: dict[str, Any]  # lower-case name -> value (None = NULL)
    # The properties the mapping code looked at: those it acted upon. Any
    # other property the client changed was not honoured, and is refused
    # (see `unhonoured`) rather than silently dropped.
    consulted: set[str] = field(default_factory=set)

    def has(self, name: str) -> bool:
        return self.raw(name) is not None

    def raw(self, name: str) -> Any:
        self.consulted.add(name.lower())
        return self.values.get(name.lower())

    def text(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, list):
            raise invalid_parameter(name, "expected a single value, not an array")
        return str(value)

    def integer(self, name: str) -> int | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, bool) or isinstance(value, list):
            raise invalid_parameter(name, f"{value!r} is not an integer")
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise invalid_parameter(name, f"{value!r} is not an integer") from None

    def boolean(self, name: str) -> bool | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise invalid_parameter(name, f"{value!r} is not a boolean")

    def strings(self, name: str) -> list[str] | None:
        value = self.raw(name)
        if value is None:
            return None
        items = value if isinstance(value, list) else [value]
        return [str(item) for item in items if item is not None]

    def at_most_one(self, name: str) -> list[str] | None:
        """An array property the model holds one value of (an image path,
        a switch, a pipe): a second entry would be dropped, so it is refused."""
        items = self.strings(name)
        if items is not None and len(items) > 1:
            raise invalid_parameter(name, f"takes one entry, not {len(items)}")
        return items

    def integers(self, name: str) -> list[int] | None:
        items = self.strings(name)
        if items is None:
            return None
        try:
            return [int(item) for item in items]
        except ValueError:
            raise invalid_parameter(name, f"{items!r} is not a list of integers") from None


def read_embedded(value: Any, parameter: str) -> PropertyBag:
    """A bag from a CIMInstance or INSTANCE text; 32773 naming `parameter`
    when it is neither."""
    if isinstance(value, CIMInstance):
        return PropertyBag(value.classname, {n.lower(): _plain(p.value) for n, p in value.properties.items()})
    if isinstance(value, (str, bytes)):
        return _from_text(value, parameter)
    raise MethodFailure(INVALID_PARAMETER, f"{parameter}: expected an embedded instance")


def read_settings(value: Any, parameter: str, *classnames: str) -> PropertyBag:
    """read_embedded, for a parameter that takes an instance of one of
    `classnames` (the class and its CIM parents): 32773 naming the class
    that came, rather than settings read off an instance of another."""
    bag = read_embedded(value, parameter)
    if bag.classname.lower() not in {name.lower() for name in classnames}:
        raise MethodFailure(INVALID_PARAMETER, f"{parameter}: an instance of {classnames[0]} is expected, not of "
                            f"{bag.classname or 'no class'}")
    return bag


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, CIMInstanceName):
        return value.to_wbem_uri()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    return value


def _from_text(text: str | bytes, parameter: str) -> PropertyBag:
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        root = etree.fromstring(data.strip(), _PARSER)
    except etree.XMLSyntaxError as error:
        raise MethodFailure(INVALID_PARAMETER, f"{parameter}: not an embedded instance ({error})") from None
    instance = root if root.tag == "INSTANCE" else root.find(".//INSTANCE")
    if instance is None:
        raise MethodFailure(INVALID_PARAMETER, f"{parameter}: no INSTANCE element")
    values: dict[str, Any] = {}
    for prop in instance:
        name = prop.get("NAME")
        if not name or name.startswith("__"):
            continue  # WMI system properties say nothing about the resource
        if prop.tag == "PROPERTY":
            node = prop.find("VALUE")
            values[name.lower()] = _value_text(node) if node is not None else None
        elif prop.tag == "PROPERTY.ARRAY":
            array = prop.find("VALUE.ARRAY")
            if array is None:
                values[name.lower()] = None
            else:
                values[name.lower()] = [_value_text(v) for v in array if v.tag == "VALUE"]
        elif prop.tag == "PROPERTY.REFERENCE":
            values[name.lower()] = etree.tostring(prop.find("VALUE.REFERENCE"), encoding="unicode") if prop.find("VALUE.REFERENCE") is not None else None
    return PropertyBag(instance.get("CLASSNAME", ""), values)


def _value_text(node: Any) -> str:
    return node.text or ""
