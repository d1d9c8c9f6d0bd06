"""IPARAMVALUE content into the DSP0200 type of its parameter (see
intrinsics.Kind). Raises DecodeError naming what arrived; the parser turns
that into CIM_ERR_INVALID_PARAMETER naming the parameter."""

from __future__ import annotations

from typing import Any, Callable

from pywbem import CIMClassName, Uint32

from cimprovider.wire import decode_objects as objects
from cimprovider.wire.decode_paths import Element, class_name, instance_name, object_path, reference, text_of
from cimprovider.wire.intrinsics import Kind
from cimprovider.wire.scalars import DecodeError, decode_boolean


def _one(element: Element, tag: str) -> Element:
    if element.tag != tag:
        raise DecodeError(f"expected {tag}, found {element.tag}")
    return element


def uint32_of(text: str) -> Uint32:
    """A uint32 parameter's VALUE text as its number."""
    text = text.strip()
    if not text.isdigit() or not text.isascii():
        raise DecodeError(f"{text!r} is not a uint32")
    number = int(text)
    if number > 0xFFFFFFFF:
        raise DecodeError(f"{text!r} is out of range for uint32")
    return Uint32(number)


def _uint32(element: Element) -> Uint32:
    return uint32_of(text_of(_one(element, "VALUE")))


def _string_array(element: Element) -> list[str]:
    # A lone VALUE is tolerated as a one-item list: some clients send it so.
    if element.tag == "VALUE":
        return [text_of(element)]
    texts = objects.value_texts(_one(element, "VALUE.ARRAY"))
    if any(t is None for t in texts):
        raise DecodeError("a NULL item in a string array")
    return [t for t in texts if t is not None]


# DSP0200 wants INSTANCENAME / CLASSNAME here, but a generic client writer
# (pywbem's tocimxml of a path with a namespace) sends the local or full
# path form; it is read with its namespace and host kept.
_INSTANCE_PATH_TAGS = ("INSTANCEPATH", "LOCALINSTANCEPATH")
_CLASS_PATH_TAGS = ("CLASSPATH", "LOCALCLASSPATH")


def _instance_name(element: Element) -> Any:
    if element.tag in _INSTANCE_PATH_TAGS:
        return object_path(element)
    return instance_name(_one(element, "INSTANCENAME"))


def _object_name(element: Element) -> Any:
    if element.tag == "CLASSNAME":
        return CIMClassName(class_name(element))
    if element.tag in _CLASS_PATH_TAGS:
        return object_path(element)
    return _instance_name(element)


def _property_value(element: Element) -> Any:
    """Untyped: the cimom types it from the class of the instance."""
    if element.tag == "VALUE":
        return text_of(element)
    if element.tag == "VALUE.ARRAY":
        return objects.value_texts(element)
    if element.tag == "VALUE.REFERENCE":
        return reference(element)
    if element.tag in ("INSTANCEPATH", "LOCALINSTANCEPATH", "INSTANCENAME"):
        # A bare path where VALUE.REFERENCE is due: what a generic client
        # writer (pywbem's tocimxml) produces for a path value.
        return object_path(element)
    raise DecodeError(f"expected VALUE, VALUE.ARRAY or VALUE.REFERENCE, found {element.tag}")


_CONVERTERS: dict[Kind, Callable[[Element], Any]] = {
    Kind.BOOLEAN: lambda e: decode_boolean(text_of(_one(e, "VALUE"))),
    Kind.UINT32: _uint32,
    Kind.STRING: lambda e: text_of(_one(e, "VALUE")),
    Kind.STRING_ARRAY: _string_array,
    Kind.CLASSNAME: class_name,
    Kind.INSTANCENAME: _instance_name,
    Kind.OBJECTNAME: _object_name,
    Kind.INSTANCE: objects.instance,
    Kind.NAMED_INSTANCE: objects.named_instance,
    Kind.CLASS: objects.klass,
    Kind.QUALIFIER_DECLARATION: objects.qualifier_declaration,
    Kind.PROPERTY_VALUE: _property_value,
}


def convert_iparam(kind: Kind, holder: Element) -> Any:
    """The value of the IPARAMVALUE `holder`; None for an empty one or a
    VALUE.NULL (DSP0200: NULL, i.e. the parameter's default meaning)."""
    kids = list(holder)
    if not kids:
        return None
    if len(kids) > 1:
        raise DecodeError(f"{len(kids)} elements where one value is due")
    if kids[0].tag == "VALUE.NULL":
        return None
    return _CONVERTERS[kind](kids[0])
