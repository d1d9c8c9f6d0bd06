"""ImportSystemDefinition, ValidatePlannedSystem, RealizePlannedSystem,
and DestroySystem of a planned system — Hyper-V's import sequence (§5):
import → Msvm_PlannedComputerSystem → validate → realize → Msvm_ComputerSystem.

Import reads and checks the whole export folder before anything is kept
(see export_folder for what a folder may hold; the images must be sound
VHD or VHDX files, a differencing one with its parents in the folder), so
a refused folder leaves no planned system and no file; the refusal is a
failed job with 32773 (invalid) or 32779 (missing) and the reason. The
planned system only records the definition: destroying it leaves nothing.

Realizing copies the images (flattened) into
`<first storage root>/<GUID>/Virtual Hard Disks/`, then defines the VM
with the planned identifier, in a job with progress by bytes; on failure
the copies are removed and no VM is left. A copy import
(GenerateNewSystemIdentifier) gets a new VM GUID, new device identities
and new dynamic MAC addresses; a plain import keeps them all, and is
refused while a VM (or planned VM) with that GUID exists."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from uuid import UUID, uuid4

from pywbem import CIMInstanceName

from cimprovider.backends.errors import InvalidParameterError, NotFoundError
from cimprovider.backends.images import ImageService
from cimprovider.backends.planned import PlannedSystem, SnapshotAdoption
from cimprovider.jobs import JobFailure, ProgressReporter
from cimprovider.providers.base import MethodReturn
from cimprovider.providers.virtualization.errors import (
    INVALID_PARAMETER,
    JOB_STARTED,
    NOT_FOUND,
    NOT_SUPPORTED,
    MethodFailure,
    hyperv_code,
    invalid_parameter,
)
from cimprovider.providers.virtualization.portability.export_folder import DISK_FOLDER, DefinitionError, read_definition
from cimprovider.providers.virtualization.storage.image_copies import copy_image, scaled, total_size
from cimprovider.providers.virtualization.jobs import job_path
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.portability.snapshot_import import read_snapshots, renamed_snapshots, snapshot_folder
from cimprovider.providers.virtualization.systems.data_roots import check_data_roots
from cimprovider.providers.virtualization.portability.planned import PLANNED_CS, find_planned, planned_backend, planned_path
from cimprovider.schemas.devices import ControllerType, Drive, DriveType
from cimprovider.schemas.images import VirtualHardDiskFormat, VirtualHardDiskType
from cimprovider.schemas.vm import VirtualMachine

Handler = Callable[[dict[str, Any]], MethodReturn]


def definition_failure(error: DefinitionError) -> MethodFailure:
    return MethodFailure(NOT_FOUND if error.missing else INVALID_PARAMETER, str(error))


class Importer:
    def __init__(self, virt: Virtualization, images: ImageService) -> None:
        self.virt = virt
        self.images = images

    # --- ImportSystemDefinition --------------------------------------------

    def import_system_definition(self, params: dict[str, Any]) -> MethodReturn:
        backend = planned_backend(self.virt)
        if backend is None:
            raise MethodFailure(NOT_SUPPORTED, "this backend keeps no planned virtual machines")
        text = params.get("SystemDefinitionFile")
        if not text:
            raise invalid_parameter("SystemDefinitionFile", "is required")
        given = Path(os.path.normpath(str(text)))
        for link in (given, given.parent, given.parent.parent):
            if link.is_symlink():
                raise invalid_parameter("SystemDefinitionFile", f"{link} is a symbolic link; an export folder holds plain files only")
        file = self.images.roots.confine(str(text), "SystemDefinitionFile")
        try:
            definition = read_definition(file)
        except DefinitionError as error:
            raise definition_failure(error) from None
        check_data_roots(definition.vm, self.images.roots.roots, "SystemDefinitionFile")
        for drive in definition.vm.drives:
            if drive.media is not None:
                self.check_image(Path(drive.media.path), definition.folder, drive)
        try:
            snapshots = read_snapshots(snapshot_folder(self.images, definition, params.get("SnapshotFolder")), definition)
        except DefinitionError as error:
            raise definition_failure(error) from None
        for snapshot in snapshots:
            check_data_roots(snapshot.vm, self.images.roots.roots, "SnapshotFolder")
            for drive in snapshot.vm.drives:
                if drive.media is not None and drive.media.path in snapshot.frozen_disks:
                    self.check_image(Path(drive.media.path), definition.folder, drive)
        current = definition.current_snapshot
        new_identifier = bool(params.get("GenerateNewSystemIdentifier"))
        vm = definition.vm
        if new_identifier:
            renamed: dict[UUID, UUID] = {}
            vm = fresh_identity(definition.vm, renamed, uuid4())
            snapshots = renamed_snapshots(snapshots, vm.id, renamed, fresh_identity)
            current = renamed.get(current) if current is not None else None
        vm = self.known_switches(vm)
        self.check_identifier(vm.id, new_identifier)
        if snapshots and not isinstance(self.virt.backend, SnapshotAdoption):
            raise MethodFailure(NOT_SUPPORTED, "this backend cannot take snapshots in from an export; import with SnapshotFolder empty")
        planned = PlannedSystem(id=vm.id, vm=vm, source_folder=str(definition.folder), definition_file=str(file),
                                new_identifier=new_identifier, created_at=datetime.now(timezone.utc),
                                snapshots=snapshots, current_snapshot_id=current)  # fmt: skip
        backend.add_planned_system(planned)
        # Hyper-V answers with a job even though the planned system exists
        # once the method returns; clients wait for it before validating.
        return self.run("ImportSystemDefinition", planned.id, lambda progress: progress(100),
                        ImportedSystem=planned_path(self.virt, planned.id))

    def check_image(self, path: Path, folder: Path, drive: Drive) -> None:
        """A sound VHD/VHDX (or, in a DVD drive, any file) whose parents, if
        any, lie in the export folder too."""
        if drive.drive_type is DriveType.DVD:
            self.plain_iso(path)
            return
        for _ in range(64):
            try:
                settings = self.images.get_settings(path)
            except (NotFoundError, InvalidParameterError):
                raise
            except Exception as error:  # noqa: BLE001 - unreadable: a damaged folder, not a server failure
                raise invalid_parameter("SystemDefinitionFile", f"{path} is damaged: {error}") from None
            if settings.format not in (VirtualHardDiskFormat.VHD, VirtualHardDiskFormat.VHDX):
                raise invalid_parameter("SystemDefinitionFile", f"{path} is a {settings.format.value} file, not a virtual hard disk")
            try:
                self.images.validate(path)
            except Exception as error:  # noqa: BLE001 - a corrupt or truncated image is an invalid folder
                raise invalid_parameter("SystemDefinitionFile", f"{path} is damaged: {error}") from None
            if settings.type is not VirtualHardDiskType.DIFFERENCING or settings.parent_path is None:
                return
            parent = settings.parent_path.resolve()
            if not parent.is_relative_to(folder / DISK_FOLDER):
                raise invalid_parameter("SystemDefinitionFile", f"{path} reads through {parent}, outside the export folder")
            path = parent
        raise invalid_parameter("SystemDefinitionFile", f"{path}: the differencing chain is too long")

    def plain_iso(self, path: Path) -> Path:
        """The real path of an ISO file in the folder, read only if it (and
        whatever link leads to it) lies inside the storage roots: the folder
        may have changed since the import checked it."""
        real = self.images.roots.confine(path, "SystemDefinitionFile")
        if not real.is_file():
            raise invalid_parameter("SystemDefinitionFile", f"{path} is not a regular file")
        return real

    def known_switches(self, vm: VirtualMachine) -> VirtualMachine:
        """NICs connected to a switch this host does not have are imported
        disconnected (Hyper-V's Compare-VM would ask; there is no one to ask)."""
        switches = {switch.id for switch in self.virt.backend.list_switches()}
        adapters = tuple(nic if nic.switch_id in switches or nic.switch_id is None else nic.replace(switch_id=None)
                         for nic in vm.network_adapters)  # fmt: skip
        return vm.model_copy(update={"network_adapters": adapters})

    def check_identifier(self, vm_id: UUID, new_identifier: bool) -> None:
        backend = planned_backend(self.virt)
        taken = self.virt.find_vm(vm_id) is not None
        if backend is not None and not taken:
            taken = any(p.id == vm_id for p in backend.list_planned_systems())
        if taken:
            hint = "" if new_identifier else "; import it with GenerateNewSystemIdentifier to make a copy"
            raise invalid_parameter("SystemDefinitionFile", f"a virtual machine with identifier {vm_id} already exists{hint}")

    # --- ValidatePlannedSystem, RealizePlannedSystem -----------------------------

    def validate_planned_system(self, params: dict[str, Any]) -> MethodReturn:
        planned = self.planned(params.get("PlannedSystem"))
        self.validate(planned)
        return self.run("ValidatePlannedSystem", planned.id, lambda progress: progress(100))

    def validate(self, planned: PlannedSystem) -> None:
        if self.virt.find_vm(planned.id) is not None:
            raise invalid_parameter("PlannedSystem", f"a virtual machine with identifier {planned.id} already exists")
        for drive in planned.vm.drives:
            if drive.media is not None:
                self.check_image(Path(drive.media.path), Path(planned.source_folder), drive)
        for snapshot in planned.snapshots:
            for drive in snapshot.vm.drives:
                if drive.media is not None and drive.media.path in snapshot.frozen_disks:
                    self.check_image(Path(drive.media.path), Path(planned.source_folder), drive)
        self.images.roots.confine(self.destination(planned), "PlannedSystem")

    def realize_planned_system(self, params: dict[str, Any]) -> MethodReturn:
        planned = self.planned(params.get("PlannedSystem"))
        self.validate(planned)

        def work(progress: ProgressReporter) -> None:
            self.realize(planned, progress)

        return self.run("RealizePlannedSystem", planned.id, work, ResultingSystem=self.virt.vm_path(planned.id))

    def destination(self, planned: PlannedSystem) -> Path:
        return self.images.roots.roots[0] / str(planned.id).upper()

    def realize(self, planned: PlannedSystem, progress: ProgressReporter) -> VirtualMachine:
        folder = self.destination(planned)
        disks = folder / DISK_FOLDER
        disks.mkdir(parents=True, exist_ok=False)
        try:
            sources = [d for d in planned.vm.drives if d.media is not None and d.drive_type is DriveType.DISK]
            frozen = [(s.id, d) for s in planned.snapshots for d in s.vm.drives
                      if d.media is not None and d.media.path in s.frozen_disks]  # fmt: skip
            paths = [Path(d.media.path) for d in sources] + [Path(d.media.path) for _, d in frozen]  # type: ignore[union-attr]
            total, done = total_size(self.images, paths), 0
            copies: dict[str, str] = {}  # source path -> its copy
            for source in dict.fromkeys(paths):
                size = self.images.get_settings(source).max_internal_size
                copies[str(source)] = str(copy_image(self.images, source, disks / source.name, scaled(progress, done, size, total)))
                done += size
            media = {d.id: copies[d.media.path] for d in sources}  # type: ignore[union-attr]
            for drive in planned.vm.drives:  # ISO files are copied as they are
                if drive.drive_type is DriveType.DVD and drive.media is not None:
                    iso = Path(drive.media.path)
                    shutil.copyfile(self.plain_iso(iso), disks / iso.name)
                    media[drive.id] = str(disks / iso.name)
            vm = define_from(self.virt.backend, planned.vm, media)
            if planned.snapshots:
                self.adopt(vm, planned, copies)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        try:
            planned_backend(self.virt).remove_planned_system(planned.id)  # type: ignore[union-attr]
        except NotFoundError:
            pass  # destroyed meanwhile; the VM stands
        progress(100)
        return vm

    def adopt(self, vm: VirtualMachine, planned: PlannedSystem, copies: dict[str, str]) -> None:
        """Give the new VM its snapshots, their drives on the copies; the
        copies become the backend's, so applying a snapshot may drop the
        VM's imported current disk as it drops any it leaves."""
        snapshots = []
        for snapshot in planned.snapshots:
            drives = tuple(d.replace(media=d.media.replace(path=copies[d.media.path]))
                           if d.media is not None and d.media.path in snapshot.frozen_disks else d.replace(media=None)
                           for d in snapshot.vm.drives)  # fmt: skip
            snapshots.append(snapshot.model_copy(update={
                "vm": snapshot.vm.model_copy(update={"drives": drives}),
                "frozen_disks": tuple(copies[p] for p in snapshot.frozen_disks)}))  # fmt: skip
        try:
            self.virt.backend.adopt_snapshots(vm.id, snapshots, planned.current_snapshot_id, list(copies.values()))  # type: ignore[attr-defined]
        except BaseException:
            self.virt.backend.destroy_vm(vm.id)
            raise

    # --- DestroySystem of a planned system ---------------------------------------

    def destroy_hook(self, destroy: Handler) -> Handler:
        def destroy_system(params: dict[str, Any]) -> MethodReturn:
            path = params.get("AffectedSystem")
            if isinstance(path, CIMInstanceName) and path.classname.lower() == PLANNED_CS.lower():
                planned = self.planned(path, "AffectedSystem")
                planned_backend(self.virt).remove_planned_system(planned.id)  # type: ignore[union-attr]
                return MethodReturn(0)
            return destroy(params)

        return destroy_system

    # --- plumbing ------------------------------------------------------------------

    def planned(self, path: Any, parameter: str = "PlannedSystem") -> PlannedSystem:
        planned = find_planned(self.virt, path) if isinstance(path, CIMInstanceName) else None
        if planned is None:
            raise MethodFailure(NOT_FOUND, f"{parameter}: no such planned virtual machine")
        return planned

    def run(self, method: str, affected: UUID, work: Callable[[ProgressReporter], Any], **out: Any) -> MethodReturn:
        def job_work(progress: ProgressReporter, _token: Any) -> Any:
            try:
                return work(progress)
            except Exception as error:  # noqa: BLE001 - the job ends with the Hyper-V code
                code, message = hyperv_code(error)
                raise JobFailure(code, message) from None

        job = self.virt.jobs.submit(job_work, method, f"{method} of a planned virtual machine", (affected,), cancellable=False)
        return MethodReturn(JOB_STARTED, {"Job": job_path(self.virt, job.id), **out})


def fresh_identity(vm: VirtualMachine, renamed: dict[UUID, UUID] | None = None, vm_id: UUID | None = None) -> VirtualMachine:
    """A copy's identity: new VM GUID, new device GUIDs (drives follow
    their controllers), dynamic MAC addresses left for the host to assign.
    `renamed` (old -> new GUID) is shared between a VM and its snapshots,
    so a device keeps one new GUID in all of them."""
    renamed = {} if renamed is None else renamed

    def new(old: UUID) -> UUID:
        return renamed.setdefault(old, uuid4())

    controllers = {c.id: c.replace(id=new(c.id)) for c in vm.controllers}
    drives = tuple(d.replace(id=new(d.id), controller_id=new(d.controller_id),
                             media=d.media.replace(id=new(d.media.id)) if d.media else None) for d in vm.drives)  # fmt: skip
    nics = tuple(n.replace(id=new(n.id), mac_address=n.mac_address if n.static_mac else None) for n in vm.network_adapters)
    ports = tuple(p.replace(id=new(p.id)) for p in vm.serial_ports)
    return vm.model_copy(update={"id": vm_id or uuid4(), "controllers": tuple(controllers.values()), "drives": drives,
                                 "network_adapters": nics, "serial_ports": ports})  # fmt: skip


def define_from(backend: Any, vm: VirtualMachine, media: dict[UUID, str], keep_dvd_media: bool = False) -> VirtualMachine:
    """Define `vm` (off, with its identity) on the backend, its disk drives
    on `media`. IDE controllers are the backend's defaults, so drives on
    them are placed afterwards on the default with the same number."""
    scsi = [c for c in vm.controllers if c.controller_type is ControllerType.SCSI]
    devices: list[Any] = [vm.processor, vm.memory, *vm.serial_ports, *vm.integration_services, *scsi, *vm.network_adapters]
    defined = backend.define_vm(vm.settings, devices, vm.id)
    try:
        for drive in vm.drives:
            original = vm.controller(drive.controller_id)
            target = next((c for c in defined.controllers if original is not None
                           and c.controller_type is original.controller_type and c.number == original.number), None)  # fmt: skip
            if target is None:
                continue
            placed = drive.replace(controller_id=target.id)
            if drive.drive_type is DriveType.DISK or drive.id in media:
                copied = drive.media.replace(path=media[drive.id], attached_path=None) if drive.id in media else None
                placed = placed.replace(media=copied)
            elif not keep_dvd_media:
                placed = placed.replace(media=None)  # an ISO the export left out
            backend.add_device(defined.id, placed)
        for item in vm.kvp_items:
            backend.add_kvp_items(defined.id, [item])
    except BaseException:
        backend.destroy_vm(defined.id)
        raise
    return backend.get_vm(defined.id)
