"""CIM-XML object declarations (DSP0201 §3.2.4, §3.2.6) into pywbem
objects: INSTANCE, CLASS, PROPERTY*, QUALIFIER, QUALIFIER.DECLARATION,
METHOD, PARAMETER*, and embedded objects carried as escaped text."""

from __future__ import annotations

from typing import Any

from pywbem import (
    CIMClass,
    CIMInstance,
    CIMMethod,
    CIMParameter,
    CIMProperty,
    CIMQualifier,
    CIMQualifierDeclaration,
)

from cimprovider.wire.decode_paths import (
    Element,
    instance_name,
    reference,
    required_attr,
    text_of,
)
from cimprovider.wire.safexml import FragmentError, parse_fragment
from cimprovider.wire.scalars import DecodeError, decode_boolean, decode_scalar


def value_texts(element: Element) -> list[str | None]:
    """The items of a VALUE.ARRAY as raw text, None for VALUE.NULL."""
    if element.tag != "VALUE.ARRAY":
        raise DecodeError(f"expected VALUE.ARRAY, found {element.tag}")
    items: list[str | None] = []
    for kid in element:
        if kid.tag == "VALUE":
            items.append(text_of(kid))
        elif kid.tag == "VALUE.NULL":
            items.append(None)
        else:
            raise DecodeError(f"VALUE.ARRAY may hold only VALUE and VALUE.NULL, not {kid.tag}")
    return items


def typed_value(element: Element | None, cimtype: str) -> Any:
    """VALUE or VALUE.ARRAY (or nothing, NULL) as a value of `cimtype`."""
    if element is None or element.tag == "VALUE.NULL":
        return None
    if element.tag == "VALUE":
        return decode_scalar(text_of(element), cimtype)
    return [None if t is None else decode_scalar(t, cimtype) for t in value_texts(element)]


def _flag(element: Element, name: str) -> bool | None:
    raw = element.get(name)
    return None if raw is None else decode_boolean(raw)


def _value_child(element: Element, allowed: tuple[str, ...]) -> Element | None:
    found = [kid for kid in element if kid.tag in allowed]
    if len(found) > 1:
        raise DecodeError(f"{element.tag} holds more than one value")
    return found[0] if found else None


def _qualifiers(element: Element) -> list[CIMQualifier]:
    return [qualifier(kid) for kid in element if kid.tag == "QUALIFIER"]


def qualifier(element: Element) -> CIMQualifier:
    name = required_attr(element, "NAME")
    cimtype = required_attr(element, "TYPE")
    value = typed_value(_value_child(element, ("VALUE", "VALUE.ARRAY")), cimtype)
    try:
        return CIMQualifier(
            name,
            value,
            type=cimtype,
            propagated=_flag(element, "PROPAGATED"),
            overridable=_flag(element, "OVERRIDABLE"),
            tosubclass=_flag(element, "TOSUBCLASS"),
            toinstance=_flag(element, "TOINSTANCE"),
            translatable=_flag(element, "TRANSLATABLE"),
        )
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"QUALIFIER {name}: {exc}") from None


def embedded_object(text: str | None) -> Any:
    """The INSTANCE or CLASS an embedded-object text holds; the text itself
    when it is not one (some clients send plain strings there).

    WMI's GetText() adds system properties (__PATH, __CLASS, ...) with
    CLASSORIGIN="___SYSTEM"; they are kept, with that class origin, so the
    cimom can use or drop them."""
    if text is None:
        return None
    try:
        root = parse_fragment(text)
        if root.tag == "INSTANCE":
            return instance(root)
        if root.tag == "CLASS":
            return klass(root)
    except (FragmentError, DecodeError):
        pass
    return text


def _embedding(element: Element) -> str | None:
    return element.get("EmbeddedObject") or element.get("EMBEDDEDOBJECT") or None


def property_(element: Element) -> CIMProperty:
    """PROPERTY, PROPERTY.ARRAY or PROPERTY.REFERENCE."""
    name = required_attr(element, "NAME")
    tag = element.tag
    embedding = _embedding(element)
    array_size = element.get("ARRAYSIZE")
    if tag == "PROPERTY.REFERENCE":
        holder = _value_child(element, ("VALUE.REFERENCE",))
        value: Any = None if holder is None else reference(holder)
        cimtype = "reference"
    else:
        cimtype = required_attr(element, "TYPE")
        wanted = ("VALUE",) if tag == "PROPERTY" else ("VALUE.ARRAY",)
        holder = _value_child(element, wanted)
        if embedding and holder is not None:
            texts = [text_of(holder)] if tag == "PROPERTY" else value_texts(holder)
            objects = [embedded_object(t) for t in texts]
            value = objects[0] if tag == "PROPERTY" else objects
        else:
            value = typed_value(holder, cimtype)
    try:
        return CIMProperty(
            name,
            value,
            type=cimtype,
            class_origin=element.get("CLASSORIGIN"),
            propagated=_flag(element, "PROPAGATED"),
            is_array=tag == "PROPERTY.ARRAY",
            array_size=int(array_size) if array_size else None,
            reference_class=element.get("REFERENCECLASS"),
            embedded_object=embedding,
            qualifiers=_qualifiers(element),
        )
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"{tag} {name}: {exc}") from None


_PROPERTY_TAGS = ("PROPERTY", "PROPERTY.ARRAY", "PROPERTY.REFERENCE")


def instance(element: Element) -> CIMInstance:
    if element.tag != "INSTANCE":
        raise DecodeError(f"expected INSTANCE, found {element.tag}")
    classname = required_attr(element, "CLASSNAME")
    result = CIMInstance(classname, qualifiers=_qualifiers(element))
    for kid in element:
        if kid.tag in _PROPERTY_TAGS:
            prop = property_(kid)
            result.properties[prop.name] = prop
        elif kid.tag != "QUALIFIER":
            raise DecodeError(f"INSTANCE may not hold {kid.tag}")
    return result


def named_instance(element: Element) -> CIMInstance:
    """VALUE.NAMEDINSTANCE (INSTANCENAME, INSTANCE) → instance with path."""
    if element.tag != "VALUE.NAMEDINSTANCE":
        raise DecodeError(f"expected VALUE.NAMEDINSTANCE, found {element.tag}")
    kids = list(element)
    if len(kids) != 2:
        raise DecodeError("VALUE.NAMEDINSTANCE must hold INSTANCENAME and INSTANCE")
    result = instance(kids[1])
    result.path = instance_name(kids[0])
    return result


def parameter(element: Element) -> CIMParameter:
    name = required_attr(element, "NAME")
    tag = element.tag
    is_reference = tag in ("PARAMETER.REFERENCE", "PARAMETER.REFARRAY")
    array_size = element.get("ARRAYSIZE")
    try:
        return CIMParameter(
            name,
            "reference" if is_reference else required_attr(element, "TYPE"),
            reference_class=element.get("REFERENCECLASS"),
            is_array=tag in ("PARAMETER.ARRAY", "PARAMETER.REFARRAY"),
            array_size=int(array_size) if array_size else None,
            qualifiers=_qualifiers(element),
        )
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"{tag} {name}: {exc}") from None


_PARAMETER_TAGS = ("PARAMETER", "PARAMETER.REFERENCE", "PARAMETER.ARRAY", "PARAMETER.REFARRAY")


def method(element: Element) -> CIMMethod:
    name = required_attr(element, "NAME")
    try:
        return CIMMethod(
            name,
            return_type=element.get("TYPE"),
            parameters=[parameter(kid) for kid in element if kid.tag in _PARAMETER_TAGS],
            class_origin=element.get("CLASSORIGIN"),
            propagated=_flag(element, "PROPAGATED"),
            qualifiers=_qualifiers(element),
        )
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"METHOD {name}: {exc}") from None


def klass(element: Element) -> CIMClass:
    if element.tag != "CLASS":
        raise DecodeError(f"expected CLASS, found {element.tag}")
    name = required_attr(element, "NAME")
    return CIMClass(
        name,
        superclass=element.get("SUPERCLASS"),
        qualifiers=_qualifiers(element),
        properties=[property_(kid) for kid in element if kid.tag in _PROPERTY_TAGS],
        methods=[method(kid) for kid in element if kid.tag == "METHOD"],
    )


_SCOPES = ("CLASS", "ASSOCIATION", "REFERENCE", "PROPERTY", "METHOD", "PARAMETER", "INDICATION")


def qualifier_declaration(element: Element) -> CIMQualifierDeclaration:
    if element.tag != "QUALIFIER.DECLARATION":
        raise DecodeError(f"expected QUALIFIER.DECLARATION, found {element.tag}")
    name = required_attr(element, "NAME")
    cimtype = required_attr(element, "TYPE")
    scopes: dict[str, bool] | None = None
    for kid in element:
        if kid.tag == "SCOPE":
            scopes = {scope: decode_boolean(kid.get(scope)) for scope in _SCOPES if kid.get(scope) is not None}
    array_size = element.get("ARRAYSIZE")
    try:
        return CIMQualifierDeclaration(
            name,
            cimtype,
            value=typed_value(_value_child(element, ("VALUE", "VALUE.ARRAY")), cimtype),
            is_array=bool(_flag(element, "ISARRAY")),
            array_size=int(array_size) if array_size else None,
            scopes=scopes,
            overridable=_flag(element, "OVERRIDABLE"),
            tosubclass=_flag(element, "TOSUBCLASS"),
            toinstance=_flag(element, "TOINSTANCE"),
            translatable=_flag(element, "TRANSLATABLE"),
        )
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"QUALIFIER.DECLARATION {name}: {exc}") from None
