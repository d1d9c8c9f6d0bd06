"""The migration service's settings and capabilities: one preexisting
Msvm_VirtualSystemMigrationSettingData per MigrationType (clients pick
one with `WHERE MigrationType = '32771'`, change it and pass it back), the
service's own Msvm_VirtualSystemMigrationServiceSettingData and its
Msvm_VirtualSystemMigrationCapabilities."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pywbem import CIMInstance

from cimprovider.providers.base import InstanceProvider, OperationContext, PropertySet, Pushdown
from cimprovider.providers.virtualization.model import Virtualization

MIGRATION_SETTINGS = "Msvm_VirtualSystemMigrationSettingData"
SERVICE_SETTINGS = "Msvm_VirtualSystemMigrationServiceSettingData"
CAPABILITIES = "Msvm_VirtualSystemMigrationCapabilities"
CAPABILITIES_ID = "Microsoft:VirtualSystemMigrationCapabilities"

VIRTUAL_SYSTEM, STORAGE, STAGED, VIRTUAL_SYSTEM_AND_STORAGE = 32768, 32769, 32770, 32771
MIGRATION_TYPES = {
    VIRTUAL_SYSTEM: "Virtual System",
    STORAGE: "Storage",
    STAGED: "Staged",
    VIRTUAL_SYSTEM_AND_STORAGE: "Virtual System and Storage",
}
TCP = 5
CREDSSP = 0  # the value Hyper-V reports; peers here sign in with HTTP Basic over the peers file's credentials


@dataclass
class ServiceSettings:
    """What ModifyServiceSettings may change; read by every migration."""

    enabled: bool
    max_active: int
    max_active_storage: int
    compress: bool = False  # EnableCompression: the default of each migration's setting
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # Where a change is kept so it outlives a restart (the server sets it).
    persist: Callable[[dict[str, Any]], None] = field(default=lambda values: None, repr=False, compare=False)

    def values(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "max_active": self.max_active,
                "max_active_storage": self.max_active_storage, "compress": self.compress}

    def restore(self, values: dict[str, Any]) -> None:
        """Take the values last kept; a name not kept keeps its default."""
        with self.lock:
            self.enabled = bool(values.get("enabled", self.enabled))
            self.max_active = int(values.get("max_active", self.max_active))
            self.max_active_storage = int(values.get("max_active_storage", self.max_active_storage))
            self.compress = bool(values.get("compress", self.compress))


def migration_settings_id(migration_type: int) -> str:
    return f"Microsoft:VirtualSystemMigrationSettingData\\{migration_type}"


def service_settings_id(virt: Virtualization) -> str:
    return f"Microsoft:{virt.host_name}\\VirtualSystemMigrationServiceSettingData"


def migration_settings_values(migration_type: int, compress: bool = False) -> dict[str, Any]:
    return {
        "InstanceID": migration_settings_id(migration_type),
        "ElementName": f"{MIGRATION_TYPES[migration_type]} Migration Settings",
        "Caption": "Virtual System Migration Setting Data",
        "MigrationType": migration_type,
        "Priority": 0,
        "TransportType": TCP,
        "DestinationIPAddressList": [],
        "RetainVhdCopiesOnSource": False,
        "EnableCompression": compress and migration_type != STORAGE,  # a storage move crosses no network
        "Bandwidth": 0,  # no limit
        "BandwidthUnit": "bit / second * 10^6",
        "UnmanagedVhds": [],
        "RemoveSourceUnmanagedVhds": False,
        "AvoidRemovingVHDs": False,
        "AllowOverwriteExistingFile": False,
        "CancelIfBlackoutThresholdExceeded": False,
        "CPUCappingMagnitude": 0,
    }


def service_settings_values(virt: Virtualization, settings: ServiceSettings) -> dict[str, Any]:
    return {
        "InstanceID": service_settings_id(virt),
        "ElementName": "Virtual System Migration Service Settings",
        "Caption": "Virtual System Migration Service Setting Data",
        "EnableVirtualSystemMigration": settings.enabled,
        "MaximumActiveVirtualSystemMigration": settings.max_active,
        "MaximumActiveStorageMigration": settings.max_active_storage,
        "AuthenticationType": CREDSSP,
        "EnableCompression": settings.compress,
        "EnableSmbTransport": False,
    }


def capabilities_values() -> dict[str, Any]:
    return {
        "InstanceID": CAPABILITIES_ID,
        "ElementName": "Virtual System Migration Capabilities",
        "SynchronousMethodsSupported": [],
        "AsynchronousMethodsSupported": [2, 4],  # MigrateVirtualSystemToHost, CheckVirtualSystemIsMigratableToHost
        "DestinationHostFormatsSupported": [2, 3, 4, 5],  # IPv4, IPv6, host name, URL
        "OtherDestinationHostFormatsSupported": [],
        "VirtualSystemMigrationTypesSupported": [1, 3, 4, 5],  # live, save, storage live and offline
    }


class MigrationSettingsProvider(InstanceProvider):
    classnames = (MIGRATION_SETTINGS, SERVICE_SETTINGS, CAPABILITIES)

    def __init__(self, virt: Virtualization, settings: ServiceSettings) -> None:
        self.virt = virt
        self.settings = settings

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        render = self.virt.renderer.instance
        lowered = classname.lower()
        if lowered == MIGRATION_SETTINGS.lower():
            for migration_type in MIGRATION_TYPES:
                yield render(MIGRATION_SETTINGS, migration_settings_values(migration_type, self.settings.compress), properties)
        elif lowered == SERVICE_SETTINGS.lower():
            yield render(SERVICE_SETTINGS, service_settings_values(self.virt, self.settings), properties)
        elif lowered == CAPABILITIES.lower():
            yield render(CAPABILITIES, capabilities_values(), properties)
