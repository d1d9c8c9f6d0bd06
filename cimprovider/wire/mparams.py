"""METHODCALL PARAMVALUEs into ParamValue.

pywbem sends PARAMTYPE, so values are typed here; wbemcli does not, so then
values stay raw text and the cimom types them from the METHOD's PARAMETER
declarations (see messages.ParamValue)."""

from __future__ import annotations

from typing import Any

from pywbem import CIMClassName

from cimprovider.wire import decode_objects as objects
from cimprovider.wire.decode_paths import (
    Element,
    class_name,
    instance_name,
    reference,
    reference_array,
    required_attr,
    text_of,
)
from cimprovider.wire.messages import ParamValue
from cimprovider.wire.scalars import CIM_TYPES, DecodeError, decode_scalar


def _scalar(text: str | None, cimtype: str | None, embedding: str | None) -> Any:
    if text is None:
        return None
    if embedding:
        return objects.embedded_object(text)
    if cimtype is None:
        return text
    return decode_scalar(text, cimtype)


def _check_not_reference(cimtype: str | None, tag: str) -> None:
    if cimtype == "reference":
        raise DecodeError(f"PARAMTYPE is reference but the value is a {tag}")


def _value(kid: Element | None, cimtype: str | None, embedding: str | None) -> tuple[Any, bool]:
    """(value, is_array) of the one child of a PARAMVALUE."""
    if kid is None or kid.tag == "VALUE.NULL":
        return None, False
    tag = kid.tag
    if tag == "VALUE":
        _check_not_reference(cimtype, tag)
        return _scalar(text_of(kid), cimtype, embedding), False
    if tag == "VALUE.ARRAY":
        _check_not_reference(cimtype, tag)
        return [_scalar(t, cimtype, embedding) for t in objects.value_texts(kid)], True
    if cimtype not in (None, "reference") and tag in ("VALUE.REFERENCE", "VALUE.REFARRAY"):
        raise DecodeError(f"PARAMTYPE is {cimtype} but the value is a {tag}")
    if tag == "VALUE.REFERENCE":
        return reference(kid), False
    if tag == "VALUE.REFARRAY":
        return reference_array(kid), True
    if tag == "INSTANCENAME":
        return instance_name(kid), False
    if tag == "CLASSNAME":
        return CIMClassName(class_name(kid)), False
    if tag == "INSTANCE":
        return objects.instance(kid), False
    if tag == "VALUE.NAMEDINSTANCE":
        return objects.named_instance(kid), False
    if tag == "CLASS":
        return objects.klass(kid), False
    raise DecodeError(f"{tag} cannot be a parameter value")


def param_name(element: Element) -> str:
    return required_attr(element, "NAME")


def convert_param(element: Element) -> ParamValue:
    """One PARAMVALUE; DecodeError if its value does not fit its PARAMTYPE."""
    name = param_name(element)
    # pywbem reads TYPE where a server forgot PARAMTYPE; accept the same.
    cimtype = element.get("PARAMTYPE") or element.get("TYPE") or None
    if cimtype is not None and cimtype not in CIM_TYPES:
        raise DecodeError(f"PARAMTYPE {cimtype!r} is not a CIM type")
    embedding = element.get("EmbeddedObject") or element.get("EMBEDDEDOBJECT") or None
    if embedding is not None and embedding not in ("instance", "object"):
        raise DecodeError(f"EmbeddedObject {embedding!r} is neither instance nor object")
    kids = list(element)
    if len(kids) > 1:
        raise DecodeError(f"{len(kids)} elements where one value is due")
    value, is_array = _value(kids[0] if kids else None, cimtype, embedding)
    return ParamValue(name=name, type=cimtype, value=value, embedded_object=embedding, is_array=is_array)
