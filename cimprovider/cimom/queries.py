"""ExecQuery, OpenQueryInstances and FilterQuery: the bridge between the
operation engine and the query languages.

A SELECT enumerates its FROM class polymorphically, handing the query's
necessary conditions to providers (pushdown) so that a query for one VM
does not build every VM; the full WHERE is applied afterwards. WQL's
ASSOCIATORS OF and REFERENCES OF run as the association operations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pywbem import (
    CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED,
    CIM_ERR_INVALID_QUERY,
    CIMClassName,
    CIMError,
    CIMInstance,
)

from cimprovider.cimom import associations
from cimprovider.cimom.context import Engine
from cimprovider.cimom.instances import iter_instances, required
from cimprovider.providers.base import OperationContext
from cimprovider.query import AssociatorsQuery, ReferencesQuery, SelectQuery, parse_query
from cimprovider.query.tree import Property, Satisfies, walk
from cimprovider.repository import shape_class
from cimprovider.wire.messages import IntrinsicResult

if TYPE_CHECKING:
    from cimprovider.cimom.pulls import PullOperations

# DSP0212's filter language is a CQL WHERE clause in all but name.
FQL = "dmtf:fql"


@dataclass(frozen=True, slots=True)
class SchemaQueryContext:
    """What query evaluation needs from the server: the class hierarchy of
    the operation's namespace, and where instances live."""

    namespace: str
    host: str
    engine: Engine

    def is_subclass(self, classname: str, superclass: str) -> bool:
        repo = self.engine.repository
        if not repo.has_class(self.namespace, classname) or not repo.has_class(self.namespace, superclass):
            return False
        return repo.is_subclass(self.namespace, classname, superclass)


def query_context(engine: Engine, ctx: OperationContext) -> SchemaQueryContext:
    return SchemaQueryContext(ctx.namespace, ctx.host, engine)


def run_select(engine: Engine, ctx: OperationContext, query: SelectQuery) -> Iterator[CIMInstance]:
    if query.is_event_query:
        raise CIMError(
            CIM_ERR_INVALID_QUERY,
            f"{query.from_class} is an event class: use it in an indication filter, not in a query",
        )
    if query.is_schema_query:
        raise CIMError(CIM_ERR_INVALID_QUERY, "schema queries (FROM meta_class) are not supported; use EnumerateClasses")
    _check_where_names(engine, ctx, query)
    qctx = query_context(engine, ctx)
    candidates = iter_instances(engine, ctx, query.from_class, pushdown=query.pushdown(), with_host=True)
    if query.distinct or query.order_by:
        return iter(query.execute(candidates, qctx))
    return (query.project(i, qctx) for i in candidates if query.matches(i, qctx))


def _check_where_names(engine: Engine, ctx: OperationContext, query: SelectQuery) -> None:
    """A WHERE naming a property that neither the FROM class nor any of its
    subclasses has is an invalid query, as WMI answers it: matching nothing
    would hide the misspelling. Names read through an embedded object or a
    reference are not known before the instances are, and pass."""
    repo = engine.repository
    if query.where is None or not repo.has_class(ctx.namespace, query.from_class):
        return
    nodes = list(walk(query.where))
    own = {query.from_class.lower(), "__this", *((query.alias.lower(),) if query.alias else ())}
    bound = own | {node.variable.lower() for node in nodes if isinstance(node, Satisfies)}
    known: set[str] | None = None
    for node in nodes:
        if not isinstance(node, Property):
            continue
        root = node.owner is None
        if not root and not (isinstance(node.owner, Property) and node.owner.owner is None and node.owner.name.lower() in own):
            continue
        name = node.name.lower()
        if name.startswith("__") or (root and name in bound):
            continue
        if known is None:
            known = {prop.lower() for cls in repo.subclasses(ctx.namespace, query.from_class, include_self=True)
                     for prop in repo.get_class(ctx.namespace, cls).properties}
        if name not in known:
            raise CIMError(CIM_ERR_INVALID_QUERY, f"{query.from_class} and its subclasses have no property {node.name}")


def run_query(engine: Engine, ctx: OperationContext, language: str, text: str) -> Iterator[Any]:
    query = parse_query(language, text)
    if isinstance(query, SelectQuery):
        return run_select(engine, ctx, query)
    return _run_traversal(engine, ctx, query)


def _run_traversal(engine: Engine, ctx: OperationContext, query: AssociatorsQuery | ReferencesQuery) -> Iterator[Any]:
    target = query.object_path.copy()
    if isinstance(target, CIMClassName):
        raise CIMError(CIM_ERR_INVALID_QUERY, "ASSOCIATORS OF / REFERENCES OF a class is not supported; name an instance")
    target.namespace = ctx.namespace  # WMI paths name their own namespace only for show
    target.host = None
    if isinstance(query, AssociatorsQuery):
        params = {
            "ObjectName": target,
            "AssocClass": query.assoc_class,
            "ResultClass": query.result_class,
            "Role": query.role,
            "ResultRole": query.result_role,
        }
        handler = associations.associator_names if query.keys_only or query.class_defs_only else associations.associators
    else:
        params = {"ObjectName": target, "ResultClass": query.result_class, "Role": query.role}
        handler = associations.reference_names if query.keys_only or query.class_defs_only else associations.references
    results = handler(engine, ctx, params).value
    if query.class_defs_only:
        return _classes_of(engine, ctx, results)
    if query.keys_only:
        return (CIMInstance(p.classname, properties=dict(p.keybindings), path=p) for p in results)
    return iter(results)


def _classes_of(engine: Engine, ctx: OperationContext, paths) -> Iterator[Any]:
    seen: set[str] = set()
    for path in paths:
        name = path.classname.lower()
        if name not in seen:
            seen.add(name)
            cls = engine.repository.copy_class(ctx.namespace, path.classname)
            cls.path = CIMClassName(cls.classname, namespace=ctx.namespace, host=ctx.host)
            yield cls


class QueryOperations:
    def __init__(self, pulls: PullOperations) -> None:
        self.pulls = pulls

    def filter_for(
        self, engine: Engine, ctx: OperationContext, language: str | None, text: str | None
    ) -> Callable[[Any], bool] | None:
        """A predicate for the FilterQuery of an Open* operation: a WQL or
        CQL SELECT, or a DMTF:FQL condition (evaluated as a CQL WHERE)."""
        if language is None and text is None:
            return None
        if language is None or text is None:
            raise CIMError(CIM_ERR_INVALID_QUERY, "FilterQuery and FilterQueryLanguage go together")
        if language.lower() == FQL:
            query = parse_query("DMTF:CQL", f"SELECT * FROM CIM_ManagedElement WHERE {text}")
            qctx = query_context(engine, ctx)
            return lambda item: _where_holds(query, item, qctx)
        query = parse_query(language, text)
        if not isinstance(query, SelectQuery) or query.is_event_query:
            raise CIMError(CIM_ERR_INVALID_QUERY, "a FilterQuery must be a SELECT over instances")
        _check_where_names(engine, ctx, query)
        qctx = query_context(engine, ctx)

        def keep(item: Any) -> bool:
            if not _instance(item):
                raise CIMError(
                    CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED,
                    "FilterQuery applies to operations that return instances, not paths",
                )
            return query.matches(item, qctx)

        return keep

    def exec_query(self, engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
        items = run_query(engine, ctx, required(p, "QueryLanguage"), required(p, "Query"))
        return IntrinsicResult(value=items)

    def open_query_instances(self, engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
        language, text = required(p, "FilterQueryLanguage"), required(p, "FilterQuery")
        query = parse_query(language, text)
        if isinstance(query, SelectQuery):
            items = run_select(engine, ctx, query)
        else:
            items = _run_traversal(engine, ctx, query)
        result = self.pulls.open_query(ctx, items, p)
        if p.get("ReturnQueryResultClass"):
            result.out_params.append(("QueryResultClass", "", _result_class(engine, ctx, query)))
        return result


def _instance(item: Any) -> bool:
    return isinstance(item, CIMInstance)


def _where_holds(query: SelectQuery, item: Any, qctx: SchemaQueryContext) -> bool:
    if not _instance(item):
        raise CIMError(
            CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED,
            "FilterQuery applies to operations that return instances, not paths",
        )
    from cimprovider.query.evaluate import Scope, evaluate

    return evaluate(query.where, Scope(query, item, qctx)) is True


def _result_class(engine: Engine, ctx: OperationContext, query: Any):
    """The class describing what a query returns: its FROM class limited to
    the selected properties (DSP0200 QueryResultClass)."""
    if not isinstance(query, SelectQuery):
        raise CIMError(CIM_ERR_INVALID_QUERY, "ReturnQueryResultClass needs a SELECT query")
    names = None
    if not query.selects_all:
        from cimprovider.query.results import selection

        chosen = selection(query)
        names = None if chosen is None else list(chosen)
    cls = engine.repository.get_class(ctx.namespace, query.from_class)
    return shape_class(cls, local_only=False, include_qualifiers=False, include_class_origin=False, property_list=names)
