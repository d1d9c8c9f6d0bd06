"""Msvm_VirtualSystemSnapshotService ("vssnapsvc"): CreateSnapshot,
ApplySnapshot, DestroySnapshot, DestroySnapshotTree; and renaming a
snapshot through the management service's ModifySystemSettings, as
Hyper-V clients do.

CreateSnapshot answers 4096 with ResultingSnapshot already set (the
snapshot's identity is chosen before the job runs) and a Msvm_ConcreteJob
that freezes the disks. SnapshotType 2 (full) makes a snapshot as the VM's
UserSnapshotType says — standard (with the memory of a VM that is not
off), production (with the guest's VSS service, no memory; "production
with fallback" falls back to standard), or none when snapshots are
disabled (32775); 32768 makes a recovery snapshot; 3 (disk only) is not
supported (32770). ApplySnapshot answers 32775 at once unless the VM is
off or saved. Failures of the work end the job in Exception with the
Hyper-V code (32779 no such snapshot, 32775 invalid state…)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid4

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.backends import SnapshotBackend
from cimprovider.jobs import JobFailure, ProgressReporter
from cimprovider.providers.base import (
    InstanceProvider,
    MethodProvider,
    MethodReturn,
    OperationContext,
    PropertySet,
    Pushdown,
)
from cimprovider.providers.virtualization.embedded import read_embedded
from cimprovider.providers.virtualization.errors import (
    INVALID_PARAMETER,
    INVALID_STATE,
    JOB_STARTED,
    NOT_FOUND,
    NOT_SUPPORTED,
    MethodFailure,
    hyperv_code,
    invalid_parameter,
)
from cimprovider.providers.virtualization.jobs import job_path
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.snapshots.snapshot_settings import find_snapshot, snapshot_path
from cimprovider.schemas.devices import IntegrationService
from cimprovider.schemas.integration import IntegrationServiceKind
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.snapshots import Snapshot, SnapshotKind
from cimprovider.schemas.vm import SnapshotType, VirtualMachine
from cimprovider.providers.virtualization.systems.settings import read_vssd
from cimprovider.providers.virtualization.systems.states import RUNNING_SERVICE

SNAPSHOT_SERVICE = "Msvm_VirtualSystemSnapshotService"
SNAPSHOT_SERVICE_NAME = "vssnapsvc"
FULL, DISK_ONLY, RECOVERY = 2, 3, 32768


class SnapshotService(InstanceProvider, MethodProvider):
    classnames = (SNAPSHOT_SERVICE,)

    def __init__(self, virt: Virtualization, backend: SnapshotBackend | None) -> None:
        self.virt = virt
        self.backend = backend
        self.handlers: dict[str, Callable[[dict[str, Any]], MethodReturn]] = {
            "createsnapshot": self.create,
            "applysnapshot": self.apply,
            "destroysnapshot": lambda p: self.destroy(p, "AffectedSnapshot", tree=False),
            "destroysnapshottree": lambda p: self.destroy(p, "SnapshotSettingData", tree=True),
        }

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        values = {
            **self.virt.service_path(SNAPSHOT_SERVICE, SNAPSHOT_SERVICE_NAME).keybindings,
            "ElementName": "Virtual System Snapshot Service",
            "Caption": "Hyper-V Virtual System Snapshot Service",
            "Description": "Creates, applies and destroys snapshots of virtual machines.",
            **RUNNING_SERVICE,
        }
        yield self.virt.renderer.instance(SNAPSHOT_SERVICE, values, properties)

    def invoke_method(self, ctx: OperationContext, target: CIMInstanceName | str, method: str, params: dict[str, Any]) -> MethodReturn:
        handler = self.handlers.get(method.lower())
        if handler is None:
            return super().invoke_method(ctx, target, method, params)
        if self.backend is None:
            return MethodReturn(NOT_SUPPORTED)  # this backend keeps no snapshots
        try:
            return handler(params)
        except MethodFailure as failure:
            refused = failure  # the except name is gone once the job runs
            return self.run(method, (), lambda _progress: _raise(refused))

    def run(self, method: str, affected: tuple[UUID, ...], work: Callable[[ProgressReporter], Any], **out: Any) -> MethodReturn:
        def job_work(progress: ProgressReporter, _token: Any) -> Any:
            try:
                return work(progress)
            except JobFailure:
                raise
            except Exception as error:  # noqa: BLE001 - every failure ends the job with its code
                code, message = hyperv_code(error)
                raise JobFailure(code, message) from None

        job = self.virt.jobs.submit(job_work, method, f"{method} on the snapshot service", affected, cancellable=False)
        return MethodReturn(JOB_STARTED, {"Job": job_path(self.virt, job.id), **out})

    # --- methods ---------------------------------------------------------------

    def create(self, params: dict[str, Any]) -> MethodReturn:
        vm = self._vm(params.get("AffectedSystem"))
        requested = params.get("SnapshotType")
        requested = FULL if requested is None else int(requested)
        if requested == DISK_ONLY:
            raise MethodFailure(NOT_SUPPORTED, "SnapshotType: disk-only snapshots (3) are not supported")
        if requested not in (FULL, RECOVERY):
            raise invalid_parameter("SnapshotType", f"{requested} is not 2 (full) or 32768 (recovery)")
        settings = params.get("SnapshotSettings")
        if settings:
            read_embedded(settings, "SnapshotSettings")  # consistency level: every snapshot here is crash-consistent
        kind = SnapshotKind.RECOVERY if requested == RECOVERY else snapshot_kind(vm)
        snapshot_id = uuid4()

        def work(progress: ProgressReporter) -> Snapshot:
            return self.backend.create_snapshot(  # type: ignore[union-attr]
                vm.id, None, kind, snapshot_id, progress)

        # The snapshot is an affected element too: os-win finds it as the
        # job's Msvm_AffectedJobElement of class VSSD.
        return self.run("CreateSnapshot", (vm.id, snapshot_id), work, ResultingSnapshot=snapshot_path(self.virt, snapshot_id))

    def apply(self, params: dict[str, Any]) -> MethodReturn:
        snapshot = self._snapshot(params.get("Snapshot"), "Snapshot")
        vm = self.virt.find_vm(snapshot.vm_id)
        if vm is None or vm.power_state not in (PowerState.OFF, PowerState.SAVED):
            return MethodReturn(INVALID_STATE)  # at once and without a job, as Hyper-V answers
        return self.run("ApplySnapshot", (vm.id,), lambda progress: self.backend.apply_snapshot(snapshot.id, progress))

    def destroy(self, params: dict[str, Any], parameter: str, tree: bool) -> MethodReturn:
        snapshot = self._snapshot(params.get(parameter), parameter)
        name = "DestroySnapshotTree" if tree else "DestroySnapshot"
        return self.run(name, (snapshot.vm_id,), lambda _progress: self.backend.destroy_snapshot(snapshot.id, tree))

    def rename(self, bag: Any) -> MethodReturn | None:
        """ModifySystemSettings on a snapshot's VSSD: only ElementName (and
        Notes, which snapshots share with their VM) may change."""
        snapshot = find_snapshot(self.virt, bag.text("InstanceID") or "")
        if snapshot is None or self.backend is None:
            return None
        name = bag.text("ElementName")
        if name is not None and name != snapshot.name:
            if not name or len(name) > 100:
                raise invalid_parameter("ElementName", "a snapshot's name has 1 to 100 characters")
            self.backend.rename_snapshot(snapshot.id, name)
        return MethodReturn(0)

    # --- references ------------------------------------------------------------

    def _vm(self, path: Any) -> VirtualMachine:
        vm_id = self.virt.vm_from_system(path)
        vm = self.virt.find_vm(vm_id) if vm_id is not None else None
        if vm is None:
            raise MethodFailure(NOT_FOUND, "AffectedSystem: no such virtual machine")
        return vm

    def _snapshot(self, path: Any, parameter: str) -> Snapshot:
        if not isinstance(path, CIMInstanceName):
            raise MethodFailure(INVALID_PARAMETER, f"{parameter}: a reference to a snapshot is required")
        snapshot = find_snapshot(self.virt, path)
        if snapshot is None:
            raise MethodFailure(NOT_FOUND, f"{parameter}: no such snapshot")
        return snapshot


def snapshot_kind(vm: VirtualMachine) -> SnapshotKind:
    """What UserSnapshotType makes of a full snapshot of the VM as it is."""
    if vm.snapshot_type is SnapshotType.DISABLED:
        raise MethodFailure(INVALID_STATE, "snapshots are disabled for this virtual machine (UserSnapshotType 2)")
    if vm.snapshot_type is SnapshotType.STANDARD:
        return SnapshotKind.STANDARD
    guest_helps = vm.power_state is PowerState.RUNNING and _enabled(vm.integration_services, IntegrationServiceKind.VSS)
    if guest_helps or vm.power_state is PowerState.OFF:
        return SnapshotKind.PRODUCTION  # an off VM's disks are consistent as they are
    if vm.snapshot_type is SnapshotType.PRODUCTION_ONLY:
        raise MethodFailure(INVALID_STATE, "a production snapshot needs a running guest with the VSS service (UserSnapshotType 4)")
    return SnapshotKind.STANDARD


def _enabled(services: tuple[IntegrationService, ...], kind: IntegrationServiceKind) -> bool:
    return any(s.service is kind and s.enabled for s in services)


def _raise(error: Exception) -> None:
    raise error


def rename_hook(service: SnapshotService, modify: Callable[[dict[str, Any]], MethodReturn]) -> Callable[[dict[str, Any]], MethodReturn]:
    """The management service's ModifySystemSettings, taught that a
    snapshot's settings are renamed rather than applied to a VM."""

    def modify_system_settings(params: dict[str, Any]) -> MethodReturn:
        bag = read_vssd(params.get("SystemSettings"), "SystemSettings")
        answer = service.rename(bag)
        return answer if answer is not None else modify(params)

    return modify_system_settings


