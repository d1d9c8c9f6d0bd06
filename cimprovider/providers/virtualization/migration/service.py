"""Msvm_VirtualSystemMigrationService ("migrationwmi"): the service
instance with the addresses it listens on (os-win refuses a host whose
MigrationServiceListenerIPAddressList is empty) and the migrations in
flight; ModifyServiceSettings (enable or disable migration, the maximum
of simultaneous migrations); MigrateVirtualSystemToHost, whose
Msvm_MigrationJob follows the bytes sent; and the checks
CheckVirtualSystemIsMigratableToHost and CheckVirtualSystemIsMigratable,
which ask the destination too and answer IsMigratable with a job that,
when the VM cannot move, fails with every reason (ErrorDescription, one
Msvm_Error each from GetErrorEx)."""

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
from cimprovider.providers.virtualization.embedded import PropertyBag, read_embedded
from cimprovider.jobs import CancelToken, JobCancelled, JobFailure, JobStatus, ProgressReporter
from cimprovider.providers.virtualization.errors import (
    COMPLETED,
    FAILED,
    INVALID_PARAMETER,
    JOB_STARTED,
    NOT_SUPPORTED,
    MethodFailure,
    invalid_parameter,
)
from cimprovider.providers.virtualization.migration.engine import MigrationEngine, reasons_of
from cimprovider.schemas.migration import MigrationRequest
from cimprovider.providers.virtualization.migration.job_types import CHECK, CHECK_TO_HOST, MIGRATE
from cimprovider.providers.virtualization.migration.migration_jobs import (
    MigrationJobDetails,
    migration_job_path,
)
from cimprovider.providers.virtualization.migration.request import read_request
from cimprovider.providers.virtualization.migration.settings import (
    CREDSSP,
    SERVICE_SETTINGS,
    ServiceSettings,
    service_settings_values,
)
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.jobs import job_path
from cimprovider.providers.virtualization.unhonoured import refuse_unhonoured
from cimprovider.providers.virtualization.systems.states import RUNNING_SERVICE

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
        self.engine: MigrationEngine | None = None  # the server hands it over
        self.handlers: dict[str, Handler] = {
            "modifyservicesettings": self.modify_settings,
            "migratevirtualsystemtohost": self.migrate,
            "checkvirtualsystemismigratabletohost": lambda ctx, params: self.check(params, CHECK_TO_HOST),
            "checkvirtualsystemismigratable": lambda ctx, params: self.check(params, CHECK),
        }

    def path(self) -> CIMInstanceName:
        return self.virt.service_path(MIGRATION_SERVICE, MIGRATION_SERVICE_NAME)

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        systems, storage = (self.engine.active(), self.engine.active_storage()) if self.engine else (0, 0)
        values = {
            **self.path().keybindings,
            "ElementName": "Virtual System Migration Service",
            "Caption": "Hyper-V Virtual System Migration Service",
            "Description": "Moves virtual machines and their storage between hosts.",
            **RUNNING_SERVICE,
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
            if method.lower() == "modifyservicesettings":
                # The code says it failed; its job says why.
                job = self._failed_job(method, failure)
                return MethodReturn(failure.code, {"Job": job_path(self.virt, job.id)})
            refused = failure  # Hyper-V reports a refused migration in a failed job
            return self._job(method, (), lambda _p, _c: _raise(refused), None)

    def _job(self, method: str, affected: tuple, work: Callable[[ProgressReporter, CancelToken], None],
             details: MigrationJobDetails | None, **out: Any) -> MethodReturn:
        def job_work(progress: ProgressReporter, cancel: CancelToken) -> None:
            try:
                work(progress, cancel)
            except (JobFailure, JobCancelled, MethodFailure):
                raise
            except Exception as error:  # noqa: BLE001 - every failure ends the job with its reasons
                raise JobFailure(FAILED, "; ".join(reasons_of(error))) from None

        job = self.virt.jobs.submit(job_work, method, f"{method} on the migration service", affected, cancellable=True,
                                    details=details.to_json() if details is not None else "")
        return MethodReturn(JOB_STARTED, {"Job": migration_job_path(self.virt, job.id), **out})

    def _failed_job(self, method: str, failure: MethodFailure) -> JobStatus:
        def work(_progress: ProgressReporter, _cancel: CancelToken) -> None:
            raise JobFailure(failure.code, failure.message)

        return self.virt.jobs.submit(work, method, f"{method} failed", (), cancellable=False)

    def _engine(self) -> MigrationEngine:
        if self.engine is None:
            raise MethodFailure(FAILED, "migration is not available on this server")
        return self.engine

    def migrate(self, ctx: OperationContext, params: dict[str, Any]) -> MethodReturn:
        engine = self._engine()
        vm, request = read_request(self.virt, params, self.settings.compress)
        _refuse_stray_address(engine, request)
        details = MigrationJobDetails(request.migration_type, vm.id, request.destination)
        return self._job(MIGRATE, (vm.id,), lambda progress, cancel: engine.migrate(request, progress, cancel), details)

    def check(self, params: dict[str, Any], method: str) -> MethodReturn:
        engine = self._engine()
        vm, request = read_request(self.virt, params, self.settings.compress)
        _refuse_stray_address(engine, request)
        reasons = engine.check(request)
        details = MigrationJobDetails(request.migration_type, vm.id, request.destination, tuple(reasons))

        def outcome(progress: ProgressReporter, _cancel: CancelToken) -> None:
            if reasons:
                raise JobFailure(FAILED, "; ".join(reasons))
            progress(100)

        return self._job(method, (vm.id,), outcome, details, IsMigratable=not reasons)

    def modify_settings(self, ctx: OperationContext, params: dict[str, Any]) -> MethodReturn:
        bag = read_embedded(params.get("ServiceSettingData"), "ServiceSettingData")
        if bag.classname.lower() != SERVICE_SETTINGS.lower():
            raise invalid_parameter("ServiceSettingData", f"expected {SERVICE_SETTINGS}, not {bag.classname}")
        enabled = bag.boolean("EnableVirtualSystemMigration")
        maximum = bag.integer("MaximumActiveVirtualSystemMigration")
        storage = bag.integer("MaximumActiveStorageMigration")
        compress = bag.boolean("EnableCompression")
        _refuse_unhonoured_service(bag)
        base = service_settings_values(self.virt, self.settings)
        refuse_unhonoured(self.virt.renderer, SERVICE_SETTINGS, bag, base, frozenset({"instanceid"}))
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
            if compress is not None:
                self.settings.compress = compress
            self.settings.persist(self.settings.values())
        return MethodReturn(COMPLETED)


def _refuse_unhonoured_service(bag: PropertyBag) -> None:
    authentication = bag.integer("AuthenticationType")
    if authentication not in (None, CREDSSP):
        raise MethodFailure(NOT_SUPPORTED, f"AuthenticationType: {authentication} is not offered; peers sign in with "
                                           "the credentials of the peers file (reported as CredSSP, 0)")
    if bag.boolean("EnableSmbTransport"):
        raise MethodFailure(NOT_SUPPORTED, "EnableSmbTransport: files move over this server's HTTP(S) port, not SMB")


def _raise(failure: MethodFailure) -> None:
    raise failure


def _refuse_stray_address(engine: MigrationEngine, request: MigrationRequest) -> None:
    """Before anything connects: the destination's credentials go only to its own addresses."""
    why = engine.stray_address(request)
    if why is not None:
        raise MethodFailure(INVALID_PARAMETER, why)
