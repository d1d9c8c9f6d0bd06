"""ExportSystemDefinition, and the export settings Hyper-V serves per VM
(Msvm_VirtualSystemExportSettingData, InstanceID = the VM's VSSD's, tied
to the VM by Msvm_SystemExportSettingData).

The export is checked before the method returns (the VM, the directory —
which must lie inside the storage roots, as every path a client hands the
server does, and is made if missing — and the settings); the copy runs in a Msvm_ConcreteJob whose
progress follows the bytes of disk copied. It is written into a hidden
`.partial` folder beside the target and renamed into place at the end, so
a failed or interrupted export leaves no half folder that looks whole.
An ISO in a DVD drive is copied as it is into `Virtual Hard Disks/`; one
outside the storage roots is not read: its drive is exported empty and
the job completes with warnings (32768) naming it.
The folder's layout and file format: see export_folder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.backends import SnapshotBackend
from cimprovider.backends.images import ImageService
from cimprovider.jobs import JobFailure, JobOutcome, ProgressReporter
from cimprovider.providers.base import InstanceProvider, MethodReturn, OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.associations import PerVm
from cimprovider.providers.virtualization.embedded import read_embedded
from cimprovider.providers.virtualization.errors import (
    INVALID_PARAMETER,
    JOB_STARTED,
    NOT_FOUND,
    MethodFailure,
    hyperv_code,
    invalid_parameter,
)
from cimprovider.providers.virtualization.portability.export_folder import (
    CONFIGURATION_FOLDER,
    DISK_FOLDER,
    SNAPSHOT_FOLDER,
    definition_document,
    folder_name,
    snapshot_document,
    write_json,
)
from cimprovider.providers.virtualization.storage.image_copies import copy_image, copy_name, scaled, total_size
from cimprovider.providers.virtualization.jobs import job_path
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.schemas.devices import DriveType
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.vm import VirtualMachine

EXPORT_SETTINGS = "Msvm_VirtualSystemExportSettingData"
ALL_SNAPSHOTS, NO_SNAPSHOTS, ONE_SNAPSHOT, ONE_SNAPSHOT_AS_VM = 0, 1, 2, 3


@dataclass(frozen=True)
class ExportRequest:
    vm: VirtualMachine
    target: Path  # the folder the export becomes
    copy_storage: bool
    snapshots: tuple[Any, ...]  # schemas Snapshot
    disks: tuple[tuple[str, Path], ...]  # (drive id, image path)
    current_snapshot: UUID | None = None  # the snapshot the VM's state grew from
    media_files: tuple[tuple[str, Path], ...] = ()  # (DVD drive id, ISO file) copied as they are
    warnings: tuple[str, ...] = ()  # e.g. an ISO left out: the job completes with warnings


def snapshot_disks(snapshot: Any) -> dict[str, str]:
    """drive id -> frozen disk of a snapshot (what applying it restores)."""
    return {str(d.id): d.media.path for d in snapshot.vm.drives
            if d.media is not None and d.media.path in snapshot.frozen_disks}  # fmt: skip


def export_settings_values(vm: VirtualMachine) -> dict[str, Any]:
    """Hyper-V's defaults for a VM's export: everything, in a subfolder."""
    return {
        "InstanceID": ids.vssd_id(vm.id),
        "Caption": "Virtual System Export Setting Data",
        "Description": "Parameters of ExportSystemDefinition for this virtual machine.",
        "ElementName": vm.name,
        "CopySnapshotConfiguration": ALL_SNAPSHOTS,
        "CopyVmRuntimeInformation": True,
        "CopyVmStorage": True,
        "CreateVmExportSubdirectory": True,
        "SnapshotVirtualSystem": None,
        "CaptureLiveState": 0,
    }


class Exporter:
    def __init__(self, virt: Virtualization, images: ImageService) -> None:
        self.virt = virt
        self.images = images

    def export_system_definition(self, params: dict[str, Any]) -> MethodReturn:
        request = self.request(params)
        job_id = uuid4()

        def work(progress: ProgressReporter, _token: Any) -> None:
            try:
                self.write(request, job_id, progress)
                return JobOutcome(warnings=request.warnings)
            except Exception as error:  # noqa: BLE001 - the job ends with the Hyper-V code
                code, message = hyperv_code(error)
                raise JobFailure(code, message) from None

        definition = request.target / CONFIGURATION_FOLDER / f"{ids.guid(request.vm.id)}.json"  # written last, by place()
        job = self.virt.jobs.submit(work, "ExportSystemDefinition", f"Exporting '{request.vm.name}' to {request.target}",
                                    (request.vm.id,), cancellable=False, result_ref=str(definition))  # fmt: skip
        return MethodReturn(JOB_STARTED, {"Job": job_path(self.virt, job.id)})

    # --- checking ---------------------------------------------------------

    def request(self, params: dict[str, Any]) -> ExportRequest:
        vm_id = self.exported_vm(params.get("ComputerSystem"))
        vm = self.virt.find_vm(vm_id) if vm_id is not None else None
        if vm is None:
            raise MethodFailure(NOT_FOUND, "ComputerSystem: no such virtual machine")
        text = params.get("ExportDirectory")
        if not text:
            raise invalid_parameter("ExportDirectory", "is required")
        directory = self.images.roots.confine(str(text), "ExportDirectory")
        if directory.exists() and not directory.is_dir():
            raise invalid_parameter("ExportDirectory", f"{text} is not a directory")
        values = export_settings_values(vm)
        if params.get("ExportSettingData"):
            bag = read_embedded(params["ExportSettingData"], "ExportSettingData")
            for name in ("CopySnapshotConfiguration", "SnapshotVirtualSystem"):
                if bag.has(name):
                    values[name] = bag.integer(name) if name != "SnapshotVirtualSystem" else bag.text(name)
            for name in ("CopyVmStorage", "CopyVmRuntimeInformation", "CreateVmExportSubdirectory"):
                if bag.boolean(name) is not None:
                    values[name] = bag.boolean(name)
        target = directory / folder_name(vm.name) if values["CreateVmExportSubdirectory"] else directory
        if (target / CONFIGURATION_FOLDER).exists() or (values["CreateVmExportSubdirectory"] and target.exists()):
            raise invalid_parameter("ExportDirectory", f"{target} already holds an export of a virtual machine")
        if vm.power_state not in (PowerState.OFF, PowerState.SAVED, PowerState.RUNNING, PowerState.PAUSED):
            raise MethodFailure(32775, f"cannot export while the virtual machine is {vm.power_state.value}")
        disks = ()
        if values["CopyVmStorage"]:
            disks = tuple((str(d.id), Path(d.media.path)) for d in vm.drives
                          if d.drive_type is DriveType.DISK and d.media is not None)  # fmt: skip
            for _, disk in disks:
                self.images.get_settings(disk)  # inside the roots and readable, or the method fails now
        media_files, warnings = self.dvd_media(vm) if values["CopyVmStorage"] else ((), ())
        snapshots = self.snapshots(vm, values)
        backend = self.virt.backend
        current = backend.snapshot_position(vm.id).current_id if snapshots and isinstance(backend, SnapshotBackend) else None
        for snapshot in snapshots if values["CopyVmStorage"] else ():
            for disk in snapshot_disks(snapshot).values():
                self.images.get_settings(Path(disk))
        return ExportRequest(vm, target, bool(values["CopyVmStorage"]), snapshots, disks, current, media_files, warnings)

    def exported_vm(self, path: Any) -> UUID | None:
        """The VM a ComputerSystem parameter names: its Msvm_ComputerSystem,
        or (as os-win passes it) its Msvm_VirtualSystemSettingData."""
        if not isinstance(path, CIMInstanceName):
            return None
        instance_id = next((v for k, v in path.keybindings.items() if k.lower() == "instanceid"), None)
        if instance_id is None:
            return self.virt.vm_from_system(path)
        ref = ids.parse_setting_id(str(instance_id))
        return ref.vm_id if ref is not None and not ref.parts else None

    def dvd_media(self, vm: VirtualMachine) -> tuple[tuple[tuple[str, Path], ...], tuple[str, ...]]:
        """The ISO files to copy, and a warning for each that lies outside
        the storage roots (its drive is exported empty, as the server never
        reads a file a client could not have named)."""
        found, warnings = [], []
        for drive in vm.drives:
            if drive.drive_type is not DriveType.DVD or drive.media is None:
                continue
            try:
                path = self.images.roots.confine(drive.media.path, "media")
            except Exception:  # noqa: BLE001 - outside the roots: left out, with a warning
                path = None
            if path is None or not path.is_file():
                warnings.append(f"the DVD drive in slot {drive.slot} holds {drive.media.path}, which lies outside "
                                f"the storage roots or is missing; the drive is exported empty")  # fmt: skip
                continue
            found.append((str(drive.id), path))
        return tuple(found), tuple(warnings)

    def snapshots(self, vm: VirtualMachine, values: dict[str, Any]) -> tuple[Any, ...]:
        backend = self.virt.backend if isinstance(self.virt.backend, SnapshotBackend) else None
        choice = values["CopySnapshotConfiguration"]
        if choice not in (ALL_SNAPSHOTS, NO_SNAPSHOTS, ONE_SNAPSHOT, ONE_SNAPSHOT_AS_VM):
            raise invalid_parameter("CopySnapshotConfiguration", f"{choice} is not 0 (all), 1 (none), 2 or 3 (one)")
        if backend is None or choice == NO_SNAPSHOTS:
            return ()
        every = tuple(backend.list_snapshots(vm.id))
        if choice == ALL_SNAPSHOTS:
            return every
        parsed = ids.parse_path_text(values.get("SnapshotVirtualSystem") or "")
        ref = ids.parse_setting_id(parsed[1].get("instanceid", "")) if parsed else None
        chosen = [s for s in every if ref is not None and s.id == ref.vm_id]
        if not chosen:
            raise invalid_parameter("SnapshotVirtualSystem", "does not name a snapshot of this virtual machine")
        return tuple(chosen)

    # --- writing ----------------------------------------------------------

    def write(self, request: ExportRequest, job_id: UUID, progress: ProgressReporter) -> None:
        # A missing ExportDirectory is made (as Export-VM does) and removed
        # again if the export fails.
        made = next((p for p in reversed(request.target.parents) if not p.exists()), None)
        request.target.parent.mkdir(parents=True, exist_ok=True)
        partial = request.target.parent / f".{request.target.name}.{job_id}.partial"
        partial.mkdir()
        try:
            disk_folder = partial / DISK_FOLDER
            disk_folder.mkdir()
            taken: set[str] = set()
            frozen = {s.id: snapshot_disks(s) if request.copy_storage else {} for s in request.snapshots}
            every = [disk for _, disk in request.disks] + [Path(p) for disks in frozen.values() for p in disks.values()]
            total, done = total_size(self.images, every), 0
            names: dict[str, str] = {}
            copies: list[tuple[dict[str, str], str, Path]] = []  # (names it goes in, drive id, source)
            for drive_id, disk in request.disks:
                copies.append((names, drive_id, disk))
            per_snapshot: dict[UUID, dict[str, str]] = {}
            for snapshot in request.snapshots:
                per_snapshot[snapshot.id] = {}
                for drive_id, disk in frozen[snapshot.id].items():
                    copies.append((per_snapshot[snapshot.id], drive_id, Path(disk)))
            for into, drive_id, disk in copies:
                tag = next((f"_{ids.guid(k)}" for k, v in per_snapshot.items() if v is into), "")
                name = copy_name(self.images, disk, taken, tag)
                size = self.images.get_settings(disk).max_internal_size
                copy_image(self.images, disk, disk_folder / name, scaled(progress, done, size, total, ceiling=95))
                into[drive_id] = name
                done += size
            for drive_id, iso in request.media_files:
                name = iso.name
                while name.lower() in taken:
                    name = f"{iso.stem} ({len(taken)}){iso.suffix}"
                taken.add(name.lower())
                shutil.copyfile(iso, disk_folder / name)
                names[drive_id] = name
            exported = {s.id for s in request.snapshots}
            current = request.current_snapshot if request.current_snapshot in exported else None
            (partial / CONFIGURATION_FOLDER).mkdir()
            write_json(partial / CONFIGURATION_FOLDER / f"{ids.guid(request.vm.id)}.json",
                       definition_document(request.vm, names, current))  # fmt: skip
            (partial / SNAPSHOT_FOLDER).mkdir()
            for snapshot in request.snapshots:
                write_json(partial / SNAPSHOT_FOLDER / f"{ids.guid(snapshot.id)}.json",
                           snapshot_document(snapshot, per_snapshot[snapshot.id], exported))  # fmt: skip
            self.place(partial, request.target)
        except BaseException:
            shutil.rmtree(made or partial, ignore_errors=True)
            raise
        progress(100)

    @staticmethod
    def place(partial: Path, target: Path) -> None:
        if not target.exists():
            partial.rename(target)
            return
        for child in partial.iterdir():  # into an existing directory (no subfolder asked)
            if (target / child.name).exists():
                raise MethodFailure(INVALID_PARAMETER, f"ExportDirectory: {target / child.name} already exists")
        for child in partial.iterdir():
            child.rename(target / child.name)
        partial.rmdir()


class ExportSettingsProvider(InstanceProvider):
    classnames = (EXPORT_SETTINGS,)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for vm in self.virt.sorted_vms(self.virt.backend.list_vms()):
            yield self.virt.renderer.instance(EXPORT_SETTINGS, export_settings_values(vm), properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        instance_id = next((v for k, v in path.keybindings.items() if k.lower() == "instanceid"), "")
        ref = ids.parse_setting_id(str(instance_id))
        vm = self.virt.find_vm(ref.vm_id) if ref is not None and not ref.parts else None
        if vm is None:
            raise instance_not_found(path)
        return self.virt.renderer.instance(EXPORT_SETTINGS, export_settings_values(vm), properties)


class SystemExportSettingData(PerVm):
    """Each VM and its export settings: traversal from either reads that VM only."""

    classname = "Msvm_SystemExportSettingData"
    roles = ("ManagedElement", "SettingData")

    def vm_pairs(self, vm: VirtualMachine) -> Iterator[tuple[CIMInstanceName, CIMInstanceName]]:
        yield self.virt.vm_path(vm.id), self.virt.setting_path(EXPORT_SETTINGS, ids.vssd_id(vm.id))
