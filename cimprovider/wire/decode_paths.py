"""CIM-XML object paths (DSP0201 §3.2.5-3.2.6) into pywbem path objects.

Elements come from safexml, so comments and processing instructions are
already gone and `list(element)` holds only child elements.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from pywbem import CIMClassName, CIMInstanceName

from cimprovider.wire.scalars import DecodeError, decode_keyvalue

Element = etree._Element


def required_attr(element: Element, name: str) -> str:
    value = element.get(name)
    if value is None:
        raise DecodeError(f"{element.tag} has no {name} attribute")
    return value


def only_child(element: Element, allowed: tuple[str, ...]) -> Element:
    kids = list(element)
    if len(kids) != 1 or kids[0].tag not in allowed:
        found = ", ".join(str(k.tag) for k in kids) or "nothing"
        raise DecodeError(f"{element.tag} must hold one of {', '.join(allowed)}, not {found}")
    return kids[0]


def text_of(element: Element) -> str:
    return element.text or ""


def local_namespace(element: Element) -> str:
    """LOCALNAMESPACEPATH → "root/cimv2"."""
    if element.tag != "LOCALNAMESPACEPATH":
        raise DecodeError(f"expected LOCALNAMESPACEPATH, found {element.tag}")
    parts = []
    for kid in element:
        if kid.tag != "NAMESPACE":
            raise DecodeError(f"LOCALNAMESPACEPATH may hold only NAMESPACE, not {kid.tag}")
        part = required_attr(kid, "NAME").strip("/")
        if not part:
            raise DecodeError("NAMESPACE has an empty NAME")
        parts.append(part)
    if not parts:
        raise DecodeError("LOCALNAMESPACEPATH holds no NAMESPACE")
    return "/".join(parts)


def namespace_path(element: Element) -> tuple[str, str]:
    """NAMESPACEPATH → (host, namespace)."""
    kids = list(element)
    if len(kids) != 2 or kids[0].tag != "HOST" or kids[1].tag != "LOCALNAMESPACEPATH":
        raise DecodeError("NAMESPACEPATH must hold HOST and LOCALNAMESPACEPATH")
    return text_of(kids[0]).strip(), local_namespace(kids[1])


def class_name(element: Element) -> str:
    if element.tag != "CLASSNAME":
        raise DecodeError(f"expected CLASSNAME, found {element.tag}")
    return required_attr(element, "NAME")


def key_value(element: Element) -> Any:
    return decode_keyvalue(text_of(element), element.get("VALUETYPE"), element.get("TYPE") or None)


def instance_name(element: Element, namespace: str | None = None, host: str | None = None) -> CIMInstanceName:
    """INSTANCENAME (KEYBINDING* | KEYVALUE? | VALUE.REFERENCE?)."""
    if element.tag != "INSTANCENAME":
        raise DecodeError(f"expected INSTANCENAME, found {element.tag}")
    classname = required_attr(element, "CLASSNAME")
    keys: dict[Any, Any] = {}
    kids = list(element)
    if len(kids) == 1 and kids[0].tag in ("KEYVALUE", "VALUE.REFERENCE"):
        # DSP0201 allows one unnamed key; pywbem models it with the key None.
        kid = kids[0]
        keys[None] = key_value(kid) if kid.tag == "KEYVALUE" else reference(kid)
    else:
        for binding in kids:
            if binding.tag != "KEYBINDING":
                raise DecodeError(f"INSTANCENAME may hold only KEYBINDING, not {binding.tag}")
            name = required_attr(binding, "NAME")
            holder = only_child(binding, ("KEYVALUE", "VALUE.REFERENCE"))
            keys[name] = key_value(holder) if holder.tag == "KEYVALUE" else reference(holder)
    try:
        return CIMInstanceName(classname, keys, namespace=namespace, host=host)
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"INSTANCENAME of {classname}: {exc}") from None


def _instance_path(element: Element) -> CIMInstanceName:
    kids = list(element)
    if len(kids) != 2:
        raise DecodeError(f"{element.tag} must hold a namespace path and an INSTANCENAME")
    if element.tag == "INSTANCEPATH":
        host, namespace = namespace_path(kids[0])
        return instance_name(kids[1], namespace, host or None)
    return instance_name(kids[1], local_namespace(kids[0]))


def _class_path(element: Element) -> CIMClassName:
    kids = list(element)
    if len(kids) != 2:
        raise DecodeError(f"{element.tag} must hold a namespace path and a CLASSNAME")
    if element.tag == "CLASSPATH":
        host, namespace = namespace_path(kids[0])
        return CIMClassName(class_name(kids[1]), host=host or None, namespace=namespace)
    return CIMClassName(class_name(kids[1]), namespace=local_namespace(kids[0]))


def object_path(element: Element) -> CIMInstanceName | CIMClassName:
    """Any of the six path elements a VALUE.REFERENCE may hold."""
    tag = element.tag
    if tag == "INSTANCENAME":
        return instance_name(element)
    if tag in ("INSTANCEPATH", "LOCALINSTANCEPATH"):
        return _instance_path(element)
    if tag == "CLASSNAME":
        return CIMClassName(class_name(element))
    if tag in ("CLASSPATH", "LOCALCLASSPATH"):
        return _class_path(element)
    raise DecodeError(f"{tag} is not an object path")


_PATH_TAGS = ("CLASSPATH", "LOCALCLASSPATH", "CLASSNAME", "INSTANCEPATH", "LOCALINSTANCEPATH", "INSTANCENAME")


def reference(element: Element) -> CIMInstanceName | CIMClassName:
    """VALUE.REFERENCE → the path it holds."""
    if element.tag != "VALUE.REFERENCE":
        raise DecodeError(f"expected VALUE.REFERENCE, found {element.tag}")
    return object_path(only_child(element, _PATH_TAGS))


def reference_array(element: Element) -> list[CIMInstanceName | CIMClassName | None]:
    items: list[CIMInstanceName | CIMClassName | None] = []
    for kid in element:
        if kid.tag == "VALUE.NULL":
            items.append(None)
        else:
            items.append(reference(kid))
    return items
