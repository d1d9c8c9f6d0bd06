"""Shaping selected instances: the select list, DISTINCT and ORDER BY.

Projection keeps the instance path (ExecQuery answers carry it) and drops
the properties the select list does not name. System properties in a
select list (`__PATH`) name nothing to keep: the path travels beside the
instance in CIM-XML. A selected embedded property (`SourceInstance.Name`)
keeps its embedded instance, pruned to what was asked.
"""

from __future__ import annotations

from functools import cmp_to_key
from typing import TYPE_CHECKING, Iterable

from pywbem import CIMInstance

from .evaluate import QueryContext, Scope, evaluate, matches
from .events import counterpart_property
from .tree import AllProperties, Expr, Index, Property
from .values import compare

if TYPE_CHECKING:
    from .queries import SelectQuery

# name (lower case) -> None for "all of it", or the selection inside it.
Selection = dict[str, "Selection | None"]
_ALL = None


def _chain(expr: Expr | None) -> tuple[str, ...] | None:
    while isinstance(expr, Index):
        expr = expr.array
    return expr.chain() if isinstance(expr, Property) else None


def selection(query: SelectQuery) -> Selection | None:
    """What the select list keeps, or None when it keeps everything."""
    own = {query.from_class.lower()} | ({query.alias.lower()} if query.alias else set())
    tree: Selection = {}
    for item in query.select:
        owner = item.owner if isinstance(item, AllProperties) else item
        chain = () if owner is None else _chain(owner)
        if chain is None:
            continue
        names = [name.lower() for name in chain]
        if names and names[0] in own and (len(names) > 1 or isinstance(item, AllProperties)):
            names = names[1:]
        if not names:
            return None  # `*` or `alias.*`
        if names[0].startswith("__"):
            continue
        _add(tree, names)
    return tree


def _add(tree: Selection, names: list[str]) -> None:
    node = tree
    for depth, name in enumerate(names):
        last = depth == len(names) - 1
        if name in node and node[name] is _ALL:
            return
        if last:
            node[name] = _ALL
            return
        child = node.get(name)
        if child is None:
            child = node[name] = {}
        node = child


def _prune(instance: CIMInstance, wanted: Selection) -> CIMInstance:
    result = instance.copy()
    for name in list(result.properties.keys()):
        key = name.lower()
        if key not in wanted:
            counterpart = counterpart_property(name)
            key = counterpart.lower() if counterpart else key
        if key not in wanted:
            del result.properties[name]
            continue
        inner = wanted[key]
        if inner is _ALL:
            continue
        # CIMInstance.copy() shares CIMProperty objects with the original.
        prop = result.properties[name].copy()
        if isinstance(prop.value, CIMInstance):
            prop.value = _prune(prop.value, inner)
        elif isinstance(prop.value, list):
            prop.value = [_prune(v, inner) if isinstance(v, CIMInstance) else v
                          for v in prop.value]
        result.properties[name] = prop
    return result


def project_instance(query: SelectQuery, instance: CIMInstance,
                     ctx: QueryContext) -> CIMInstance:
    wanted = selection(query)
    return instance.copy() if wanted is None else _prune(instance, wanted)


def execute_query(query: SelectQuery, instances: Iterable[CIMInstance],
                  ctx: QueryContext) -> list[CIMInstance]:
    chosen = [instance for instance in instances if matches(query, instance, ctx)]
    if query.order_by:
        def keyed(instance: CIMInstance) -> list[object]:
            scope = Scope(query, instance, ctx)
            return [evaluate(item.expr, scope) for item in query.order_by]
        keys = {id(instance): keyed(instance) for instance in chosen}
        fold = query.language == "WQL"

        def order(a: CIMInstance, b: CIMInstance) -> int:
            for item, x, y in zip(query.order_by, keys[id(a)], keys[id(b)]):
                result = _order_values(x, y, fold)
                if result:
                    return -result if item.descending else result
            return 0
        chosen.sort(key=cmp_to_key(order))
    projected = [project_instance(query, instance, ctx) for instance in chosen]
    if query.distinct:
        projected = _distinct(projected)
    return projected


def _order_values(x: object, y: object, fold: bool) -> int:
    """NULLs first, then the language's ordering; incomparable values tie."""
    if x is None or y is None:
        return (x is not None) - (y is not None)
    if compare("<", x, y, fold=fold):
        return -1
    if compare(">", x, y, fold=fold):
        return 1
    return 0


def _distinct(instances: list[CIMInstance]) -> list[CIMInstance]:
    seen: set[tuple] = set()
    unique: list[CIMInstance] = []
    for instance in instances:
        key = (instance.classname.lower(),) + tuple(sorted(
            (name.lower(), repr(prop.value)) for name, prop in instance.properties.items()))
        if key not in seen:
            seen.add(key)
            unique.append(instance)
    return unique
