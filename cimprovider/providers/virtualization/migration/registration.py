"""Registering migration between hosts, on the CIM side: the migration
service, its settings and capabilities, Msvm_MigrationJob, and the
destination's Cimprovider_IncomingMigrationService. The server hands
both services the engine (`attach_engine`) once it has built it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cimprovider.providers.virtualization.migration.migration_jobs import MigrationJobProvider
from cimprovider.providers.virtualization.migration.engine import MigrationEngine
from cimprovider.providers.virtualization.migration.incoming_service import IncomingMigrationProvider
from cimprovider.providers.virtualization.migration.service import MigrationService
from cimprovider.providers.virtualization.migration.settings import MigrationSettingsProvider, ServiceSettings
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.render import NAMESPACE

if TYPE_CHECKING:
    from cimprovider.server import ServerParts


class MigrationProviders:
    def __init__(self, service: MigrationService, incoming: IncomingMigrationProvider) -> None:
        self.service = service
        self.incoming = incoming

    def attach_engine(self, engine: MigrationEngine) -> None:
        self.service.engine = engine
        self.incoming.engine = engine


def register_migration(parts: "ServerParts", virt: Virtualization) -> MigrationProviders:
    config = parts.config
    settings = ServiceSettings(config.migration_enabled, config.max_active_migrations, config.max_active_storage_migrations)
    service = MigrationService(virt, settings, config.host)
    incoming = IncomingMigrationProvider(virt)
    for provider in (service, incoming, MigrationSettingsProvider(virt, settings), MigrationJobProvider(virt)):
        parts.registry.register(NAMESPACE, provider)
    return MigrationProviders(service, incoming)
