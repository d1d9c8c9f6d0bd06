"""Which subscriptions an indication goes to: each active subscription's
filter, parsed once, tested against the indication raised in a namespace,
and the select list applied.

The table is rebuilt from the store whenever a filter, destination or
subscription changes, and swapped in whole, so matching never takes a lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pywbem import CIMError, CIMInstance

from cimprovider.indications.records import FilterRecord, SubscriptionRecord
from cimprovider.providers.paths import namespace_key
from cimprovider.query import SelectQuery, parse_query
from cimprovider.query.evaluate import matches as query_matches
from cimprovider.query.results import project_instance, selection
from cimprovider.repository import ClassRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SchemaContext:
    """A query.QueryContext over the class repository of one namespace.
    A class the schema does not know is nobody's subclass."""

    repository: ClassRepository
    namespace: str
    host: str

    def is_subclass(self, classname: str, superclass: str) -> bool:
        try:
            return self.repository.is_subclass(self.namespace, classname, superclass)
        except CIMError:
            return False


@dataclass(frozen=True, slots=True)
class Route:
    filter_name: str
    handler_name: str
    query: SelectQuery
    namespaces: frozenset[str]  # namespace keys; empty = every namespace
    keeps_all: bool = False  # `SELECT *`: the indication goes as raised

    @property
    def target_class(self) -> str | None:
        """The class the filter is about (`SourceInstance ISA C`), if it names one."""
        return self.query.target_class

    def project(self, indication: CIMInstance, ctx: SchemaContext) -> CIMInstance:
        # No copy for `SELECT *`: what is delivered is built anew around the
        # raised indication's properties, which nothing changes after routing.
        return indication if self.keeps_all else project_instance(self.query, indication, ctx)

    def admits(self, namespace: str) -> bool:
        return not self.namespaces or namespace_key(namespace) in self.namespaces


# Indication classes the server raises beyond the instance life-cycle ones
# the query part knows as events (CIM_InstCreation/Modification/Deletion
# and their WMI names): the model's method calls, and alerts on health.
OTHER_INDICATIONS = frozenset({"cim_instmethodcall", "cim_alertindication", "cim_processindication"})


def compile_filter(record: FilterRecord) -> SelectQuery:
    """The filter's query, parsed; CIMError for a query that is not an
    indication filter."""
    query = parse_query(record.language, record.query)
    if not isinstance(query, SelectQuery) or not (
        query.is_event_query or query.from_class.lower() in OTHER_INDICATIONS
    ):
        raise CIMError(15, f"filter {record.name}: the query must select from an indication class such as "
                           "CIM_InstModification, __InstanceModificationEvent, CIM_InstMethodCall or CIM_AlertIndication")
    return query


def build_routes(filters: list[FilterRecord], subscriptions: list[SubscriptionRecord]) -> tuple[Route, ...]:
    by_name = {f.name: f for f in filters}
    routes: list[Route] = []
    for sub in subscriptions:
        record = by_name.get(sub.filter_name)
        if record is None or not sub.active:
            continue
        try:
            query = compile_filter(record)
        except CIMError as error:  # stored before a stricter parser: skip, say so
            log.warning("indication filter %s no longer parses: %s", record.name, error.status_description)
            continue
        namespaces = frozenset(namespace_key(n) or "" for n in record.source_namespaces)
        routes.append(Route(sub.filter_name, sub.handler_name, query, namespaces, selection(query) is None))
    return tuple(routes)


@dataclass(frozen=True, slots=True)
class Match:
    route: Route
    projected: CIMInstance


def match(
    routes: tuple[Route, ...], namespace: str, indication: CIMInstance, ctx: SchemaContext
) -> list[Match]:
    out: list[Match] = []
    for route in routes:
        if not route.admits(namespace):
            continue
        try:
            if query_matches(route.query, indication, ctx):
                out.append(Match(route, route.project(indication, ctx)))
        except CIMError as error:  # a filter must not stop delivery to the others
            log.warning("indication filter %s failed on %s: %s", route.filter_name, indication.classname, error)
    return out
