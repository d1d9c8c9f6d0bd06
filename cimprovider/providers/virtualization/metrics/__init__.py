"""Resource metering in Hyper-V's model: the metric service, definitions,
values and their associations, and the metering ACLs of metered ports,
over the metering windows the metrics part keeps."""

from __future__ import annotations

from cimprovider.providers.registry import ProviderRegistry
from cimprovider.providers.virtualization.metrics.acls import MeteringAclProvider
from cimprovider.providers.virtualization.metrics.providers import (
    MetricDefForME,
    MetricDefinitionProvider,
    MetricForME,
    MetricInstance,
    MetricValueProvider,
)
from cimprovider.providers.virtualization.metrics.service import MetricService
from cimprovider.providers.virtualization.metrics.values import Metering
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.render import NAMESPACE


def register_metrics(registry: ProviderRegistry, virt: Virtualization, metering: Metering) -> None:
    providers = [
        MetricService(virt, metering),
        MetricDefinitionProvider(virt),
        MetricValueProvider(virt, metering),
        MetricForME(virt, metering),
        MetricInstance(virt, metering),
        MetricDefForME(virt, metering),
        MeteringAclProvider(virt, metering),
    ]
    for provider in providers:
        registry.register(NAMESPACE, provider)


__all__ = ["Metering", "register_metrics"]
