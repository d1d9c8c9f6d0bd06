"""Registering migration between hosts, on the CIM side: the migration service, its
settings and capabilities, and Msvm_MigrationJob."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cimprovider.providers.virtualization.migration.migration_jobs import MigrationJobDetailsBook, MigrationJobProvider
from cimprovider.providers.virtualization.migration.service import MigrationService
from cimprovider.providers.virtualization.migration.settings import MigrationSettingsProvider, ServiceSettings
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.render import NAMESPACE

if TYPE_CHECKING:
    from cimprovider.server import ServerParts


def register_migration(parts: "ServerParts", virt: Virtualization) -> MigrationService:
    config = parts.config
    settings = ServiceSettings(config.migration_enabled, config.max_active_migrations, config.max_active_storage_migrations)
    service = MigrationService(virt, settings, config.host)
    book = MigrationJobDetailsBook()
    for provider in (service, MigrationSettingsProvider(virt, settings), MigrationJobProvider(virt, book)):
        parts.registry.register(NAMESPACE, provider)
    return service
