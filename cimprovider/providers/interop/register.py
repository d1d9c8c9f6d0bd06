"""Wiring the interop namespace's providers, with the profile catalog the
rest of the model has filled in."""

from __future__ import annotations

from cimprovider.providers.interop.profiles import (
    INTEROP,
    ConformsToProfileProvider,
    Profile,
    ProfileCatalog,
    ReferencedProfileProvider,
    RegisteredProfileProvider,
)
from cimprovider.providers.interop.server import NamespaceProvider, ObjectManagerProvider, object_manager_path
from cimprovider.providers.registry import ProviderRegistry


def server_profiles(catalog: ProfileCatalog) -> None:
    """The profiles of the WBEM server itself, centred on its object manager."""

    def object_manager(ctx):
        return [object_manager_path(ctx.host)]

    catalog.add(Profile("Profile Registration", "1.0.0", central=object_manager))
    catalog.add(Profile("WBEM Server", "1.0.0", central=object_manager))


def register_interop(registry: ProviderRegistry, catalog: ProfileCatalog) -> None:
    registry.register(INTEROP, ObjectManagerProvider())
    registry.register(INTEROP, NamespaceProvider())
    registry.register(INTEROP, RegisteredProfileProvider(catalog))
    registry.register(INTEROP, ReferencedProfileProvider(catalog))
    conforms = ConformsToProfileProvider(catalog)
    for namespace in catalog.namespaces_with_elements():
        registry.register(namespace, conforms)
