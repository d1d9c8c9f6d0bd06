"""Host-written key-value pairs: Hyper-V's Add/Modify/RemoveKvpItems rules
as pure functions returning the new item list and what changed."""

from __future__ import annotations

from collections.abc import Sequence

from cimprovider.backends.errors import InvalidParameterError, NotFoundError
from cimprovider.schemas.events import KvpChange
from cimprovider.schemas.integration import HOST_WRITABLE_SOURCES, KVP_ITEMS_PER_VM, KvpItem
from cimprovider.schemas.vm import VirtualMachine

KvpChanges = tuple[tuple[KvpItem, ...], list[tuple[KvpChange, KvpItem]]]


def _check_writable(items: Sequence[KvpItem]) -> None:
    names = [item.name for item in items]
    if len(set(names)) != len(names):
        raise InvalidParameterError("name", "the same name is given twice")
    for item in items:
        if item.source not in HOST_WRITABLE_SOURCES:
            raise InvalidParameterError("source", f"the host cannot write {item.source.value} item {item.name!r}")


def add_items(vm: VirtualMachine, items: Sequence[KvpItem]) -> KvpChanges:
    _check_writable(items)
    existing = {item.name for item in vm.kvp_items}
    for item in items:
        if item.name in existing:
            raise InvalidParameterError("name", f"KVP item {item.name!r} already exists")
    if len(existing) + len(items) > KVP_ITEMS_PER_VM:
        raise InvalidParameterError("DataItems", f"VM {vm.id} keeps at most {KVP_ITEMS_PER_VM} KVP items and has "
                                    f"{len(existing)}: remove some first")
    return vm.kvp_items + tuple(items), [(KvpChange.ADDED, item) for item in items]


def modify_items(vm: VirtualMachine, items: Sequence[KvpItem]) -> KvpChanges:
    _check_writable(items)
    given = {item.name: item for item in items}
    _check_present(vm, given)
    return tuple(given.get(item.name, item) for item in vm.kvp_items), [(KvpChange.MODIFIED, item) for item in items]


def remove_items(vm: VirtualMachine, names: Sequence[str]) -> KvpChanges:
    current = {item.name: item for item in vm.kvp_items}
    _check_present(vm, dict.fromkeys(names))
    gone = set(names)
    return (
        tuple(item for item in vm.kvp_items if item.name not in gone),
        [(KvpChange.REMOVED, current[name]) for name in dict.fromkeys(names)],
    )


def _check_present(vm: VirtualMachine, names: dict[str, object]) -> None:
    existing = {item.name for item in vm.kvp_items}
    for name in names:
        if name not in existing:
            raise NotFoundError(f"VM {vm.id} has no KVP item {name!r}")
