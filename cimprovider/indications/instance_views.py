"""The instances an event may change, before and after it, keyed as the
class's key properties name them; and the indications their difference
makes. Shared by the model's and the networking's sources, which build
the two sides from their own mirrors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from cimprovider.indications.service import IndicationService
from cimprovider.indications.source import ChangeKind, InstanceChange
from cimprovider.providers.virtualization.render import Renderer

Values = dict[str, Any]
Key = tuple[str, tuple[Any, ...]]  # class name, key values
View = dict[Key, tuple[str, Values]]  # the instances an event may change


def keyed(renderer: Renderer, elements: Iterable[tuple[str, Values]]) -> View:
    view: View = {}
    for classname, values in elements:
        keys = tuple(values.get(name) for name in renderer.key_names(classname))
        view[(classname, keys)] = (classname, values)
    return view


def differences(service: IndicationService, renderer: Renderer, old: View, new: View) -> Iterator[InstanceChange]:
    """Deletions first (parts before what holds them), then creations and
    modifications in the model's order (what holds them first); only of
    classes some filter could select."""
    ns = renderer.namespace
    render = renderer.instance
    wanted: dict[str, bool] = {}

    def selectable(classname: str) -> bool:
        found = wanted.get(classname)
        if found is None:
            found = wanted[classname] = service.may_select(ns, classname)
        return found

    for key in reversed([k for k in old if k not in new]):
        classname, values = old[key]
        if selectable(classname):
            yield InstanceChange(ChangeKind.DELETED, ns, render(classname, values))
    for key, (classname, values) in new.items():
        if not selectable(classname):
            continue
        before = old.get(key)
        if before is None:
            yield InstanceChange(ChangeKind.CREATED, ns, render(classname, values))
        elif before[1] != values:
            yield InstanceChange(ChangeKind.MODIFIED, ns, render(classname, values), render(classname, before[1]))
