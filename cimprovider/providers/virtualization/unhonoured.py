"""Refusing what a client asked for and the model would not do.

Clients change a setting the way WMI taught them: take an instance (the
VM's current settings, or a template's Default), change a few properties
and send the whole instance back. Every property the mapping code looked
at (the bag's `consulted`) was acted upon; every other property must be
as it was in that base instance. One that differs is a request the model
would drop, so the call fails naming it (32770, "not supported"), and a
call that returns 0 has done all it was asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pywbem import CIMDateTime

from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.embedded import PropertyBag
from cimprovider.providers.virtualization.errors import NOT_SUPPORTED, MethodFailure, invalid_parameter
from cimprovider.providers.virtualization.render import Declared, Renderer

_INTEGER_TYPES = frozenset({"uint8", "uint16", "uint32", "uint64", "sint8", "sint16", "sint32", "sint64"})


def refuse_unhonoured(
    renderer: Renderer,
    classname: str,
    bag: PropertyBag,
    base: Mapping[str, Any],
    ignored: frozenset[str] = frozenset(),
) -> None:
    """MethodFailure naming the first property of `bag` that differs from
    `base` and that the mapping code did not consult. `ignored` (lower-case
    names) are identities the caller replaces on purpose."""
    declared = {decl.lower: decl for decl in renderer.declared(classname)}
    defaults = renderer.repository.get_class(renderer.namespace, classname).properties
    for name, value in bag.values.items():
        if value is None or name in bag.consulted or name in ignored:
            continue
        decl = declared.get(name)
        if decl is None:
            raise invalid_parameter(name, f"is not a property of {classname}")
        wanted = canonical(decl, value)
        current = base.get(decl.name)
        # A client that spawned the instance from the class sends the
        # class's default where the model shows NULL: not a request either.
        shown = current if current is not None else defaults[decl.name].value
        if wanted == canonical(decl, shown):
            continue
        raise MethodFailure(
            NOT_SUPPORTED,
            f"{decl.name}: this host cannot set it to {_shown(value)} (it stays {_shown(current)}); the request was not carried out",
        )


def canonical(decl: Declared, value: Any) -> Any:
    """One form per value, whatever the client's encoding (text from
    GetText_, typed values from pywbem): NULL, an empty string and an
    empty array are all "nothing"."""
    if value is None:
        return None
    if decl.is_array:
        items = value if isinstance(value, (list, tuple)) else [value]
        items = tuple(canonical_scalar(decl, item) for item in items)
        return items if any(item is not None for item in items) else None
    return canonical_scalar(decl, value)


def canonical_scalar(decl: Declared, value: Any) -> Any:
    if value is None or value == "":
        return None
    try:
        if decl.type == "boolean":
            return _boolean(value)
        if decl.type in _INTEGER_TYPES:
            return int(str(value).strip()) if not isinstance(value, int) else int(value)
        if decl.type in ("real32", "real64"):
            return float(value)
        if decl.type == "datetime":
            return str(CIMDateTime(value))
    except (TypeError, ValueError):
        raise invalid_parameter(decl.name, f"{value!r} is not a {decl.type}") from None
    # A path held in a string (Parent, HostResource) is the same path in
    # WMI's form or a WBEM URI, with raw or escaped backslashes.
    path = ids.parse_path_text(str(value))
    if path is not None:
        classname, keys = path
        return (classname.lower(), tuple(sorted((k, v.lower()) for k, v in keys.items())))
    return str(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(value)


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "NULL"
    return repr(value)
