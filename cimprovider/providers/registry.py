"""Which provider serves which class in which namespace.

Registration is explicit, per (namespace, class) and per capability, as in
CMPI: the engine asks for the instance, association or method provider of a
class and gets None when nobody registered one, which it answers with
CIM_ERR_NOT_SUPPORTED (or an empty result, for enumerations that span
subclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cimprovider.providers.base import AssociationProvider, InstanceProvider, MethodProvider
from cimprovider.providers.paths import namespace_key


@dataclass
class ProviderRegistry:
    _instance: dict[tuple[str, str], InstanceProvider] = field(default_factory=dict)
    _method: dict[tuple[str, str], MethodProvider] = field(default_factory=dict)

    def register(self, namespace: str, provider: InstanceProvider | MethodProvider) -> None:
        """Register `provider` for each of its classnames in `namespace`, as
        an instance (or association) provider and/or a method provider,
        according to the interfaces it implements."""
        ns = namespace_key(namespace) or ""
        for classname in provider.classnames:
            key = (ns, classname.lower())
            if isinstance(provider, InstanceProvider):
                self._claim(self._instance, key, provider)
            if isinstance(provider, MethodProvider):
                self._claim(self._method, key, provider)

    @staticmethod
    def _claim(table: dict, key: tuple[str, str], provider: object) -> None:
        if key in table and table[key] is not provider:
            raise ValueError(f"class {key[1]} in {key[0]} already has a provider: {table[key]!r}")
        table[key] = provider

    def clear(self, namespace: str) -> None:
        """Forget every provider of `namespace` (tests that serve their own
        model in place of the real one)."""
        ns = namespace_key(namespace) or ""
        for table in (self._instance, self._method):
            for key in [k for k in table if k[0] == ns]:
                del table[key]

    def instance_provider(self, namespace: str, classname: str) -> InstanceProvider | None:
        return self._instance.get((namespace_key(namespace) or "", classname.lower()))

    def association_provider(self, namespace: str, classname: str) -> AssociationProvider | None:
        provider = self.instance_provider(namespace, classname)
        return provider if isinstance(provider, AssociationProvider) else None

    def method_provider(self, namespace: str, classname: str) -> MethodProvider | None:
        return self._method.get((namespace_key(namespace) or "", classname.lower()))

    def served_classes(self, namespace: str) -> list[str]:
        ns = namespace_key(namespace) or ""
        return [cls for (n, cls) in self._instance if n == ns]
