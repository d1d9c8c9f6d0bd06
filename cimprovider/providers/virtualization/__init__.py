"""The Hyper-V WMI v2 model (root/virtualization/v2) over a backend:
systems, settings, templates and pools, devices and integration
components, the management service, jobs and associations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cimprovider.backends import Backend
from cimprovider.jobs import JobRunner
from cimprovider.providers.virtualization.associations import ASSOCIATIONS, joined
from cimprovider.providers.virtualization.resources.devices import DEVICE_CLASSES, DeviceProvider
from cimprovider.providers.virtualization.resources.host_topology import HostDevices
from cimprovider.providers.virtualization.resources.host_pci import PciExpressProvider
from cimprovider.providers.virtualization.resources.integration import IntegrationComponentProvider
from cimprovider.providers.virtualization.jobs import ConcreteJobProvider
from cimprovider.providers.virtualization.migration.registration import register_migration
from cimprovider.providers.virtualization.systems.management import ManagementService
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.portability.planned import SettingsWithPlanned
from cimprovider.providers.virtualization.resources.pools import PoolProvider
from cimprovider.providers.virtualization.portability.portability import register_portability
from cimprovider.providers.virtualization.profiles import register_profiles
from cimprovider.providers.virtualization.render import NAMESPACE, Renderer
from cimprovider.providers.virtualization.systems.boot_identity import LogicalIdentity
from cimprovider.providers.virtualization.systems.boot_sources import BootSourceProvider
from cimprovider.providers.virtualization.systems.security import SecuritySettingsProvider
from cimprovider.providers.virtualization.systems.settings import SystemSettingsProvider
from cimprovider.providers.virtualization.snapshots.snapshot_settings import SettingsWithSnapshots
from cimprovider.providers.virtualization.storage.storage import register_storage
from cimprovider.providers.virtualization.systems.systems import ComputerSystemProvider
from cimprovider.providers.virtualization.network.register import (
    AllocationsWithSwitchPorts,
    feature_handlers,
    network_associations,
    network_providers,
)
from cimprovider.providers.virtualization.resources.templates import ResourceSettingsProvider
from cimprovider.providers.virtualization.unsupported import UNSUPPORTED_CLASSES, UNSUPPORTED_METHODS
from cimprovider.providers.virtualization.job_results import result_checks

if TYPE_CHECKING:
    from cimprovider.server import ServerParts


def register_virtualization(parts: "ServerParts", backend: Backend, jobs: JobRunner) -> Virtualization:
    virt = Virtualization(backend, jobs, Renderer(parts.repository, NAMESPACE), parts.host_name)
    systems = ComputerSystemProvider(virt)
    management = ManagementService(virt, tuple(parts.config.storage_roots))
    management.handlers.update(feature_handlers(virt))
    providers = [
        systems,
        SettingsWithPlanned(virt, SettingsWithSnapshots(virt, SystemSettingsProvider(virt))),
        AllocationsWithSwitchPorts(virt, ResourceSettingsProvider(virt)),
        PoolProvider(virt),
        HostDevices(virt, DeviceProvider(virt, DEVICE_CLASSES)),
        PciExpressProvider(virt),
        IntegrationComponentProvider(virt),
        management,
        BootSourceProvider(virt),
        SecuritySettingsProvider(virt),
        LogicalIdentity(virt),
        ConcreteJobProvider(virt),
        *joined([association(virt) for association in ASSOCIATIONS] + network_associations(virt)),
        *network_providers(virt),
    ]
    for provider in providers:
        parts.registry.register(NAMESPACE, provider)
    images = register_storage(parts, virt)
    register_portability(parts, virt, images)
    parts.migration = register_migration(parts, virt)
    register_profiles(parts.catalog, virt)
    parts.on_shutdown.append(virt.close)
    return virt


__all__ = ["UNSUPPORTED_CLASSES", "UNSUPPORTED_METHODS", "Virtualization", "register_virtualization", "result_checks"]
