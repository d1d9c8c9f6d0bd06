"""The pull operations: Open* start an enumeration context over the same
generators the classic operations use, Pull* continue it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pywbem import (
    CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED,
    CIM_ERR_INVALID_PARAMETER,
    CIMError,
    CIMInstanceName,
)

from cimprovider.cimom import associations
from cimprovider.cimom.context import Engine
from cimprovider.cimom.instances import iter_instance_names, iter_instances, required
from cimprovider.cimom.pull import EnumerationContexts, principal_of
from cimprovider.cimom.shaping import only_properties, property_filter
from cimprovider.providers.base import OperationContext
from cimprovider.wire.messages import IntrinsicResult

# A filter applied to every item of an enumeration (FilterQuery), built by
# the query part; None when the client sent no FilterQuery.
FilterBuilder = Callable[[OperationContext, str | None, str | None], Callable[[Any], bool] | None]


def _owner(ctx: OperationContext) -> str:
    return principal_of(ctx.user, ctx.address)


def _result(batch: list[Any], end: bool, context_id: str) -> IntrinsicResult:
    return IntrinsicResult(
        value=batch,
        out_params=[("EndOfSequence", "boolean", end), ("EnumerationContext", "string", context_id)],
    )


def _whole(p: dict[str, Any]) -> dict[str, Any]:
    """The parameters instances are fetched with: a FilterQuery reads
    properties the PropertyList may leave out (`EnabledState = 2` with
    PropertyList ElementName), so it sees the whole instance and the list
    is applied to what passes."""
    return {**p, "PropertyList": None} if p.get("FilterQuery") is not None else p


class PullOperations:
    """Handlers for the DSP0200 pull operations, sharing one context table."""

    def __init__(self, contexts: EnumerationContexts, filter_builder: FilterBuilder) -> None:
        self.contexts = contexts
        self.filter_builder = filter_builder

    def _open(self, ctx: OperationContext, kind: str, items: Iterator[Any], p: dict[str, Any]) -> IntrinsicResult:
        if p.get("ContinueOnError"):
            raise CIMError(
                CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED, "this server stops an enumeration at its first error"
            )
        keep = self.filter_builder(ctx, p.get("FilterQueryLanguage"), p.get("FilterQuery"))
        if keep is not None:
            # The filter read whole instances (see _whole): the PropertyList cuts what passed it.
            wanted = property_filter(p.get("PropertyList"))
            items = (only_properties(item, wanted) for item in items if keep(item))
        batch, end, context_id = self.contexts.open(
            _owner(ctx), ctx.namespace, kind, items, p.get("MaxObjectCount"), p.get("OperationTimeout")
        )
        return _result(batch, end, context_id)

    def open_enumerate_instances(self, engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
        items = iter_instances(
            engine,
            ctx,
            required(p, "ClassName"),
            deep_inheritance=p.get("DeepInheritance", True),
            property_list=_whole(p).get("PropertyList"),
            include_class_origin=bool(p.get("IncludeClassOrigin", False)),
            with_host=True,
            kept=p.get("FilterQuery") is None,  # a filter reads the instances
        )
        return self._open(ctx, "instances", items, p)

    def open_enumerate_instance_paths(self, engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
        items = iter_instance_names(engine, ctx, required(p, "ClassName"), with_host=True)
        return self._open(ctx, "paths", items, p)

    def _assoc(self, engine: Engine, ctx: OperationContext, p: dict[str, Any], handler, kind: str) -> IntrinsicResult:
        target = required(p, "InstanceName")
        if not isinstance(target, CIMInstanceName):
            raise CIMError(CIM_ERR_INVALID_PARAMETER, "InstanceName must be an instance path")
        result = handler(engine, ctx, {**_whole(p), "ObjectName": target})
        return self._open(ctx, kind, iter(result.value), p)

    def open_associator_instances(self, engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
        return self._assoc(engine, ctx, p, associations.associators, "instances")

    def open_associator_instance_paths(self, engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
        return self._assoc(engine, ctx, p, associations.associator_names, "paths")

    def open_reference_instances(self, engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
        return self._assoc(engine, ctx, p, associations.references, "instances")

    def open_reference_instance_paths(self, engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
        return self._assoc(engine, ctx, p, associations.reference_names, "paths")

    def open_query(self, ctx: OperationContext, items: Iterator[Any], p: dict[str, Any]) -> IntrinsicResult:
        return self._open(ctx, "query", items, {**p, "FilterQueryLanguage": None, "FilterQuery": None})

    def _pull(self, ctx: OperationContext, kind: str, p: dict[str, Any]) -> IntrinsicResult:
        batch, end, context_id = self.contexts.pull(
            _owner(ctx), ctx.namespace, kind, required(p, "EnumerationContext"), p.get("MaxObjectCount")
        )
        return _result(batch, end, context_id)

    def pull_instances_with_path(self, engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
        return self._pull(ctx, "instances", p)

    def pull_instance_paths(self, engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
        return self._pull(ctx, "paths", p)

    def pull_instances(self, engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
        return self._pull(ctx, "query", p)

    def close_enumeration(self, engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
        self.contexts.close(_owner(ctx), ctx.namespace, required(p, "EnumerationContext"))
        return IntrinsicResult()

    def enumeration_count(self, engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
        count = self.contexts.count(_owner(ctx), ctx.namespace, required(p, "EnumerationContext"))
        return IntrinsicResult(value=count, value_type="uint64")
