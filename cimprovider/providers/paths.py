"""Comparing CIM instance paths as CIM does: class, key names and string key
values without regard to case of names, ignoring the host, and treating
the two spellings of a namespace ("root/x" and "root\\x") as one."""

from __future__ import annotations

from typing import Any

from pywbem import CIMInstanceName


def namespace_key(namespace: str | None) -> str | None:
    if namespace is None:
        return None
    return namespace.replace("\\", "/").strip("/").lower()


def _value_key(value: Any) -> Any:
    if isinstance(value, CIMInstanceName):
        return path_key(value)
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int):
        return ("i", int(value))
    return ("s", str(value))


def path_key(path: CIMInstanceName, with_namespace: bool = False) -> tuple[Any, ...]:
    """A hashable identity of `path`: what two paths to one instance share."""
    keys = tuple(sorted((k.lower(), _value_key(v)) for k, v in path.keybindings.items()))
    if with_namespace:
        return (namespace_key(path.namespace), path.classname.lower(), keys)
    return (path.classname.lower(), keys)


def same_path(a: CIMInstanceName, b: CIMInstanceName) -> bool:
    """True when a and b name the same instance. Namespaces are compared
    only when both paths carry one."""
    if a.namespace and b.namespace and namespace_key(a.namespace) != namespace_key(b.namespace):
        return False
    return path_key(a) == path_key(b)
