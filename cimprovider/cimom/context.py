"""The engine's view of one operation: namespace, caller, and the parts it
draws on (class repository, providers)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pywbem import CIM_ERR_NOT_SUPPORTED, CIMError, CIMInstanceName

from cimprovider.providers.base import InstanceProvider, OperationContext
from cimprovider.providers.registry import ProviderRegistry
from cimprovider.repository import ClassRepository


@dataclass(frozen=True, slots=True)
class Engine:
    """What every operation handler needs."""

    repository: ClassRepository
    providers: ProviderRegistry
    host: str

    def context(
        self, namespace: str, user: str | None, address: str | None = None, kept_replies: bool = False
    ) -> OperationContext:
        return OperationContext(
            namespace=self.repository.canonical_namespace(namespace),
            host=self.host,
            repository=self.repository,
            user=user,
            address=address,
            kept_replies=kept_replies,
        )

    def instance_provider_for(self, ctx: OperationContext, classname: str) -> InstanceProvider:
        """The provider of `classname`'s own instances; CIM_ERR_NOT_SUPPORTED
        when the class exists but nobody serves it."""
        provider = self.providers.instance_provider(ctx.namespace, classname)
        if provider is None:
            raise CIMError(
                CIM_ERR_NOT_SUPPORTED,
                f"class {classname} in namespace {ctx.namespace} has no instances served",
            )
        return provider

    def locate(self, ctx: OperationContext, path: CIMInstanceName) -> tuple[OperationContext, str]:
        """The context and canonical class name for an instance path that may
        name another namespace than the operation's (cross-namespace
        associations)."""
        if path.namespace and path.namespace.replace("\\", "/").strip("/").lower() != ctx.namespace.lower():
            ctx = replace(ctx, namespace=self.repository.canonical_namespace(path.namespace))
        return ctx, self.repository.canonical_classname(ctx.namespace, path.classname)
