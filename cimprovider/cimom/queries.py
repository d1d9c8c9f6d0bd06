"""ExecQuery, OpenQueryInstances and FilterQuery: the bridge between the
operation engine and the query languages."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pywbem import CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED, CIMError

from cimprovider.cimom.context import Engine
from cimprovider.providers.base import OperationContext
from cimprovider.wire.messages import IntrinsicResult

if TYPE_CHECKING:
    from cimprovider.cimom.pulls import PullOperations


class QueryOperations:
    def __init__(self, pulls: PullOperations) -> None:
        self.pulls = pulls

    def filter_for(
        self, engine: Engine, ctx: OperationContext, language: str | None, query: str | None
    ) -> Callable[[Any], bool] | None:
        if language is None and query is None:
            return None
        raise CIMError(CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED, f"query language {language!r} is not supported")

    def exec_query(self, engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
        raise CIMError(
            CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED, f"query language {p.get('QueryLanguage')!r} is not supported"
        )

    def open_query_instances(self, engine: Engine, ctx: OperationContext, p: dict[str, Any]) -> IntrinsicResult:
        raise CIMError(
            CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED,
            f"query language {p.get('FilterQueryLanguage')!r} is not supported",
        )
