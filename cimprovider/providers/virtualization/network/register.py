"""The networking family's providers, and its parts of associations and
methods other families serve (joined in by the model's registration)."""

from __future__ import annotations

from cimprovider.providers.base import InstanceProvider, MethodProvider
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.network.associations import network_associations
from cimprovider.providers.virtualization.network.feature_methods import feature_handlers
from cimprovider.providers.virtualization.network.feature_settings import FeatureCapabilitiesProvider, FeatureSettingsProvider
from cimprovider.providers.virtualization.network.port_devices import (
    EndpointProvider,
    ExtensionProvider,
    HostPortProvider,
    SwitchPortProvider,
)
from cimprovider.providers.virtualization.network.switch_service import SwitchService
from cimprovider.providers.virtualization.network.switches import (
    AllocationsWithSwitchPorts,
    SwitchProvider,
    SwitchSettingsProvider,
)


def network_providers(virt: Virtualization) -> list[InstanceProvider | MethodProvider]:
    return [
        SwitchProvider(virt),
        SwitchSettingsProvider(virt),
        SwitchPortProvider(virt),
        HostPortProvider(virt),
        EndpointProvider(virt),
        ExtensionProvider(virt),
        FeatureSettingsProvider(virt),
        FeatureCapabilitiesProvider(virt),
        SwitchService(virt),
    ]


__all__ = ["AllocationsWithSwitchPorts", "feature_handlers", "network_associations", "network_providers"]
