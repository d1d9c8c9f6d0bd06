"""The operation engine's front door: one explicit table from DSP0200
intrinsic method to handler, the authorization rule, and extrinsic calls.
Nothing here is found by getattr: the table is the list of what exists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pywbem import CIM_ERR_ACCESS_DENIED, CIM_ERR_NOT_SUPPORTED, CIMError

from cimprovider.cimom import associations, classes, instances, methods
from cimprovider.cimom.context import Engine
from cimprovider.cimom.pull import EnumerationContexts
from cimprovider.cimom.pulls import PullOperations
from cimprovider.cimom.queries import QueryOperations
from cimprovider.providers.base import MethodProvider, OperationContext
from cimprovider.providers.registry import ProviderRegistry
from cimprovider.repository import ClassRepository
from cimprovider.wire.messages import ExtrinsicCall, IntrinsicCall, IntrinsicResult, MethodResult

Handler = Callable[[Engine, OperationContext, dict[str, Any]], IntrinsicResult]

# Operations that change state; a `reader` may not call them.
WRITE_OPERATIONS = frozenset(
    {
        "CreateClass",
        "ModifyClass",
        "DeleteClass",
        "SetQualifier",
        "DeleteQualifier",
        "CreateInstance",
        "ModifyInstance",
        "DeleteInstance",
        "SetProperty",
    }
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls: a user name (None when authentication is off), a role,
    "reader" (read operations) or "admin" (everything), and the client's
    network address (None for calls made inside the server)."""

    name: str | None
    role: str
    address: str | None = None

    def may_write(self) -> bool:
        return self.role == "admin"


ANONYMOUS_ADMIN = Principal(None, "admin")


class CIMOM:
    def __init__(
        self,
        repository: ClassRepository,
        providers: ProviderRegistry,
        host: str,
        contexts: EnumerationContexts | None = None,
    ) -> None:
        self.engine = Engine(repository, providers, host)
        self.pulls = PullOperations(contexts if contexts is not None else EnumerationContexts(), self._filter_builder)
        self.queries = QueryOperations(self.pulls)
        self.handlers: dict[str, Handler] = self._table()

    def _filter_builder(self, ctx, language, query):
        return self.queries.filter_for(self.engine, ctx, language, query)

    def _table(self) -> dict[str, Handler]:
        pulls, queries = self.pulls, self.queries
        return {
            "GetClass": classes.get_class,
            "EnumerateClasses": classes.enumerate_classes,
            "EnumerateClassNames": classes.enumerate_class_names,
            "CreateClass": classes.refuse_schema_change,
            "ModifyClass": classes.refuse_schema_change,
            "DeleteClass": classes.refuse_schema_change,
            "GetQualifier": classes.get_qualifier,
            "EnumerateQualifiers": classes.enumerate_qualifiers,
            "SetQualifier": classes.refuse_schema_change,
            "DeleteQualifier": classes.refuse_schema_change,
            "GetInstance": instances.get_instance_op,
            "EnumerateInstances": instances.enumerate_instances,
            "EnumerateInstanceNames": instances.enumerate_instance_names,
            "CreateInstance": instances.create_instance,
            "ModifyInstance": instances.modify_instance,
            "DeleteInstance": instances.delete_instance,
            "GetProperty": instances.get_property,
            "SetProperty": instances.set_property,
            "Associators": associations.associators,
            "AssociatorNames": associations.associator_names,
            "References": associations.references,
            "ReferenceNames": associations.reference_names,
            "ExecQuery": queries.exec_query,
            "OpenEnumerateInstances": pulls.open_enumerate_instances,
            "OpenEnumerateInstancePaths": pulls.open_enumerate_instance_paths,
            "OpenAssociatorInstances": pulls.open_associator_instances,
            "OpenAssociatorInstancePaths": pulls.open_associator_instance_paths,
            "OpenReferenceInstances": pulls.open_reference_instances,
            "OpenReferenceInstancePaths": pulls.open_reference_instance_paths,
            "OpenQueryInstances": queries.open_query_instances,
            "PullInstancesWithPath": pulls.pull_instances_with_path,
            "PullInstancePaths": pulls.pull_instance_paths,
            "PullInstances": pulls.pull_instances,
            "CloseEnumeration": pulls.close_enumeration,
            "EnumerationCount": pulls.enumeration_count,
        }

    def intrinsic(
        self, call: IntrinsicCall, principal: Principal = ANONYMOUS_ADMIN, kept_replies: bool = False
    ) -> IntrinsicResult:
        """Run `call`. With `kept_replies` (a caller whose writer keeps reply
        XML) enumerations may answer KeptRun items for the writer."""
        handler = self.handlers.get(call.method)
        if handler is None:
            raise CIMError(CIM_ERR_NOT_SUPPORTED, f"intrinsic method {call.method} is not supported")
        if call.method in WRITE_OPERATIONS and not principal.may_write():
            raise _denied(principal, call.method)
        ctx = self.engine.context(call.namespace, principal.name, principal.address, kept_replies)
        return handler(self.engine, ctx, call.params)

    def extrinsic(self, call: ExtrinsicCall, principal: Principal = ANONYMOUS_ADMIN) -> MethodResult:
        # Most of Hyper-V's methods change the host (start a VM, define a
        # disk) and need the admin role; those a provider declares read-only
        # (GetSummaryInformation…) are open to readers.
        def authorize(provider: MethodProvider, method: str) -> None:
            if not (principal.may_write() or provider.reads_only(method)):
                raise _denied(principal, method)

        ctx = self.engine.context(call.namespace, principal.name, principal.address)
        return methods.invoke(self.engine, ctx, call, authorize)


def _denied(principal: Principal, what: str) -> CIMError:
    return CIMError(CIM_ERR_ACCESS_DENIED, f"user {principal.name} (role {principal.role}) may not call {what}")
