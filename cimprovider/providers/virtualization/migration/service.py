"""Msvm_VirtualSystemMigrationService ("migrationwmi"): the service
instance with the addresses it listens on (os-win refuses a host whose
MigrationServiceListenerIPAddressList is empty) and the migrations in
flight, and ModifyServiceSettings (enable or disable migration, the
maximum of simultaneous migrations)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from typing import Any

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.providers.base import (
    InstanceProvider,
    MethodProvider,
    MethodReturn,
    OperationContext,
    PropertySet,
    Pushdown,
)
from cimprovider.providers.virtualization.embedded import read_embedded
from cimprovider.providers.virtualization.errors import COMPLETED, MethodFailure, invalid_parameter
from cimprovider.providers.virtualization.migration.settings import SERVICE_SETTINGS, ServiceSettings
from cimprovider.providers.virtualization.model import Virtualization

MIGRATION_SERVICE = "Msvm_VirtualSystemMigrationService"
MIGRATION_SERVICE_NAME = "migrationwmi"
Handler = Callable[[OperationContext, dict[str, Any]], MethodReturn]


def listener_addresses(host: str) -> list[str]:
    """The addresses migrations reach this host on: the one it listens on,
    or, listening on every address, those its name resolves to."""
    try:
        if not ipaddress.ip_address(host).is_unspecified:
            return [host]
    except ValueError:
        return [host] if host else ["127.0.0.1"]
    found = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None) if info[4]}
    return sorted(found) or ["127.0.0.1"]


class MigrationService(InstanceProvider, MethodProvider):
    classnames = (MIGRATION_SERVICE,)

    def __init__(self, virt: Virtualization, settings: ServiceSettings, listen_host: str) -> None:
        self.virt = virt
        self.settings = settings
        self.listen_host = listen_host
        self.active: Callable[[], tuple[int, int]] = lambda: (0, 0)  # (virtual system, storage) in flight
        self.handlers: dict[str, Handler] = {"modifyservicesettings": self.modify_settings}

    def path(self) -> CIMInstanceName:
        return self.virt.service_path(MIGRATION_SERVICE, MIGRATION_SERVICE_NAME)

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        systems, storage = self.active()
        values = {
            **self.path().keybindings,
            "ElementName": "Virtual System Migration Service",
            "Caption": "Hyper-V Virtual System Migration Service",
            "Description": "Moves virtual machines and their storage between hosts.",
            "EnabledState": 2,
            "RequestedState": 12,
            "EnabledDefault": 2,
            "HealthState": 5,
            "OperationalStatus": [2],
            "Started": True,
            "StartMode": "Automatic",
            "MigrationServiceListenerIPAddressList": listener_addresses(self.listen_host),
            "ActiveVirtualSystemMigrationCount": systems,
            "ActiveStorageMigrationCount": storage,
        }
        yield self.virt.renderer.instance(MIGRATION_SERVICE, values, properties)

    def invoke_method(self, ctx: OperationContext, target: CIMInstanceName | str, method: str, params: dict[str, Any]) -> MethodReturn:
        handler = self.handlers.get(method.lower())
        if handler is None:
            return super().invoke_method(ctx, target, method, params)
        try:
            return handler(ctx, params)
        except MethodFailure as failure:
            return MethodReturn(failure.code)

    def modify_settings(self, ctx: OperationContext, params: dict[str, Any]) -> MethodReturn:
        bag = read_embedded(params.get("ServiceSettingData"), "ServiceSettingData")
        if bag.classname.lower() != SERVICE_SETTINGS.lower():
            raise invalid_parameter("ServiceSettingData", f"expected {SERVICE_SETTINGS}, not {bag.classname}")
        enabled = bag.raw("EnableVirtualSystemMigration")
        maximum = bag.integer("MaximumActiveVirtualSystemMigration")
        storage = bag.integer("MaximumActiveStorageMigration")
        for name, value in (("MaximumActiveVirtualSystemMigration", maximum), ("MaximumActiveStorageMigration", storage)):
            if value is not None and not 1 <= value <= 1024:
                raise invalid_parameter(name, f"{value} is not between 1 and 1024")
        with self.settings.lock:
            if enabled is not None:
                self.settings.enabled = bool(enabled)
            if maximum is not None:
                self.settings.max_active = maximum
            if storage is not None:
                self.settings.max_active_storage = storage
        return MethodReturn(COMPLETED)
