"""Msvm_ImageManagementService ("vhdsvc"): virtual hard disk files over the
image layer (`cimprovider.backends.images.ImageService`).

Every method answers 4096 with an Msvm_StorageJob, as Hyper-V does: the
work runs in the job, whose PercentComplete follows the image layer's
progress callbacks (qemu-img's own progress where qemu-img does the work),
and a failure ends the job in Exception (10) with ErrorCode 32779 (file
not found), 32774 (in use), 32773 (invalid parameter, naming it) or 32768,
and the tool's message as ErrorDescription. The two Get methods also fill
their output (an INSTANCE string, which clients parse with
`findall("PROPERTY")`) before returning, since an output parameter cannot
wait for the job.

Paths are confined to the configured storage roots by the image layer; a
disk (or an ancestor of a disk) that a VM that is not Off uses is "in use":
it cannot be merged, compacted, re-parented or shrunk."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.backends import Backend
from cimprovider.backends.images import ImageService
from cimprovider.jobs import CancelToken, JobCancelled, JobFailure, ProgressReporter
from cimprovider.providers.base import (
    InstanceProvider,
    MethodProvider,
    MethodReturn,
    OperationContext,
    PropertySet,
    Pushdown,
)
from cimprovider.providers.virtualization.storage.inspection_shares import InspectionShares, principal_of
from cimprovider.providers.virtualization.storage.disk_settings import (
    FIELD_PROPERTIES,
    named_image_failure,
    settings_from_bag,
    settings_instance,
    state_instance,
)
from cimprovider.providers.virtualization.embedded import read_embedded
from cimprovider.providers.virtualization.errors import JOB_STARTED, invalid_parameter
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.systems.states import RUNNING_SERVICE
from cimprovider.providers.virtualization.storage.storage_jobs import storage_job_path
from cimprovider.schemas.devices import DriveType
from cimprovider.schemas.images import VirtualHardDiskSettings, VirtualHardDiskType
from cimprovider.schemas.power import PowerState

IMAGE_SERVICE = "Msvm_ImageManagementService"
IMAGE_SERVICE_NAME = "vhdsvc"
COMPACT_MODES = range(0, 5)  # full, quick, retrim, pretrimmed, prezeroed: all compact fully here

Work = Callable[[ProgressReporter], dict[str, Any] | None]


def disks_in_use(backend: Backend, images: ImageService) -> Callable[[Path], bool]:
    """The image layer's `attached` hook: true for a disk a VM that is not
    Off (running, paused, saved, or on its way) has in a disk drive, and for
    every parent of such a disk, since a differencing disk reads through
    its parents."""

    def attached(path: Path) -> bool:
        target = Path(path).resolve()
        for vm in backend.list_vms():
            if vm.power_state is PowerState.OFF:
                continue
            for drive in vm.drives:
                if drive.drive_type is DriveType.DISK and drive.media is not None:
                    if target in _chain(images, Path(drive.media.path)):
                        return True
        return False

    return attached


def _chain(images: ImageService, path: Path) -> list[Path]:
    """The disk and its parents, as far as they can be read."""
    found: list[Path] = []
    current: Path | None = path
    while current is not None and len(found) < 64:
        found.append(current.resolve())
        try:
            current = images.get_settings(current).parent_path
        except Exception:  # noqa: BLE001 - an unreadable link ends the chain
            break
    return found


def _new_image(params: dict[str, Any]) -> str:
    """The path a create or convert writes, as the job's result; "" when
    the settings cannot be read (the job then fails saying why)."""
    try:
        return read_embedded(params.get("VirtualDiskSettingData"), "VirtualDiskSettingData").text("Path") or ""
    except Exception:  # noqa: BLE001 - reported by the job itself
        return ""


def _path(params: dict[str, Any], name: str) -> Path:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise invalid_parameter(name, "a path is required")
    return Path(value)


class ImageManagementService(InstanceProvider, MethodProvider):
    classnames = (IMAGE_SERVICE,)
    # They inspect a file; their job is the only thing they create.
    read_only_methods = frozenset({"getvirtualharddisksettingdata", "getvirtualharddiskstate",
                                   "validatevirtualharddisk"})

    def __init__(self, virt: Virtualization, images: ImageService) -> None:
        self.virt = virt
        self.images = images
        self.inspections = InspectionShares(virt.jobs)
        self.handlers: dict[str, Callable[[dict[str, Any]], MethodReturn]] = {
            "createvirtualharddisk": self.create,
            "resizevirtualharddisk": self.resize,
            "compactvirtualharddisk": self.compact,
            "mergevirtualharddisk": self.merge,
            "convertvirtualharddisk": self.convert,
            "getvirtualharddisksettingdata": self.get_settings,
            "getvirtualharddiskstate": self.get_state,
            "validatevirtualharddisk": self.validate,
            "setvirtualharddisksettingdata": self.set_settings,
            "setparentvirtualharddisk": self.set_parent,
        }
        self.method_names = {name.lower(): name for name in (
            "CreateVirtualHardDisk", "ResizeVirtualHardDisk", "CompactVirtualHardDisk", "MergeVirtualHardDisk",
            "ConvertVirtualHardDisk", "GetVirtualHardDiskSettingData", "GetVirtualHardDiskState",
            "ValidateVirtualHardDisk", "SetVirtualHardDiskSettingData", "SetParentVirtualHardDisk",
        )}  # fmt: skip

    def service_path(self) -> CIMInstanceName:
        return self.virt.service_path(IMAGE_SERVICE, IMAGE_SERVICE_NAME)

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        values = {
            **self.service_path().keybindings,
            "ElementName": "Image Management Service",
            "Caption": "Hyper-V Image Management Service",
            "Description": "Creates, converts, resizes, compacts, merges and inspects virtual hard disks.",
            **RUNNING_SERVICE,
        }
        yield self.virt.renderer.instance(IMAGE_SERVICE, values, properties)

    def invoke_method(self, ctx: OperationContext, target: CIMInstanceName | str, method: str, params: dict[str, Any]) -> MethodReturn:
        handler = self.handlers.get(method.lower())
        if handler is None:
            return super().invoke_method(ctx, target, method, params)
        if not self.reads_only(method):
            return handler(params)
        principal = principal_of(ctx)
        self.inspections.admit(principal)
        answer = handler(params)
        job = answer.out_params.get("Job")
        if isinstance(job, CIMInstanceName):
            self.inspections.started(principal, UUID(str(job.keybindings["InstanceID"])))
        return answer

    # --- running the work as a storage job -----------------------------------

    def start(
        self,
        method: str,
        work: Work,
        renames: dict[str, str] | None = None,
        cancellable: bool = False,
        result_ref: str = "",
        **out: Any,
    ) -> MethodReturn:
        """4096 and a job running `work`; what the work returns (output
        parameters) is added to `out` only for the synchronous Get methods.
        A cancellable job stops at its next progress report, which raises
        JobCancelled through the tool (qemu-img is killed, the partial file
        removed); only work that writes a new file is offered as such."""

        def job_work(progress: ProgressReporter, token: CancelToken) -> None:
            def report(percent: int) -> None:
                token.raise_if_cancelled()
                progress(percent)

            try:
                work(report if cancellable else progress)
            except (JobFailure, JobCancelled):
                raise
            except Exception as error:  # noqa: BLE001 - every failure ends the job with its code
                if type(error).__module__.startswith("pywbem"):
                    raise
                code, message = named_image_failure(error, renames)
                raise JobFailure(code, message) from None

        name = self.method_names[method.lower()]
        job = self.virt.jobs.submit(
            job_work, name, f"{name} on the image management service", cancellable=cancellable, result_ref=result_ref
        )
        return MethodReturn(JOB_STARTED, {"Job": storage_job_path(self.virt, job.id), **out})

    def failing(self, method: str, error: Exception, renames: dict[str, str] | None = None) -> MethodReturn:
        def work(_progress: ProgressReporter) -> None:
            raise error

        return self.start(method, work, renames)

    # --- methods ---------------------------------------------------------------

    def create(self, params: dict[str, Any]) -> MethodReturn:
        def work(progress: ProgressReporter) -> None:
            bag = read_embedded(params.get("VirtualDiskSettingData"), "VirtualDiskSettingData")
            self.images.create(settings_from_bag(bag), progress)

        return self.start("CreateVirtualHardDisk", work, result_ref=_new_image(params))

    def resize(self, params: dict[str, Any]) -> MethodReturn:
        def work(progress: ProgressReporter) -> None:
            size = _size(params.get("MaxInternalSize"))
            self.images.resize(_path(params, "Path"), size, progress)

        return self.start("ResizeVirtualHardDisk", work, {"max_internal_size": "MaxInternalSize"})

    def compact(self, params: dict[str, Any]) -> MethodReturn:
        def work(progress: ProgressReporter) -> None:
            mode = params.get("Mode")
            if mode is not None and int(mode) not in COMPACT_MODES:
                raise invalid_parameter("Mode", f"{mode} is not a compaction mode (0-4)")
            self.images.compact(_path(params, "Path"), progress)

        return self.start("CompactVirtualHardDisk", work)

    def merge(self, params: dict[str, Any]) -> MethodReturn:
        def work(progress: ProgressReporter) -> None:
            self.images.merge(_path(params, "SourcePath"), _path(params, "DestinationPath"), progress)

        return self.start("MergeVirtualHardDisk", work, {"path": "SourcePath"})

    def convert(self, params: dict[str, Any]) -> MethodReturn:
        def work(progress: ProgressReporter) -> None:
            source = _path(params, "SourcePath")
            bag = read_embedded(params.get("VirtualDiskSettingData"), "VirtualDiskSettingData")
            if bag.integer("Type") == 4:
                raise invalid_parameter("Type", "a conversion makes a fixed (2) or dynamic (3) disk")
            size = self.images.get_settings(source, "source_path").max_internal_size
            self.images.convert(source, settings_from_bag(bag, {"max_internal_size": size}), progress)

        # "path" is the new disk's: VirtualDiskSettingData's Path.
        return self.start("ConvertVirtualHardDisk", work, cancellable=True, result_ref=_new_image(params))

    def validate(self, params: dict[str, Any]) -> MethodReturn:
        def work(progress: ProgressReporter) -> None:
            self.images.validate(_path(params, "Path"), progress)

        return self.start("ValidateVirtualHardDisk", work)

    def set_parent(self, params: dict[str, Any]) -> MethodReturn:
        def work(progress: ProgressReporter) -> None:
            child, parent = _path(params, "ChildPath"), _path(params, "ParentPath")
            ignore = bool(params.get("IgnoreIDMismatch") or False)
            self.images.set_parent(child, parent, ignore, progress)

        return self.start("SetParentVirtualHardDisk", work)

    def set_settings(self, params: dict[str, Any]) -> MethodReturn:
        """Hyper-V changes a disk's parent and sector sizes this way; here
        the parent of a differencing VHD. Type, format and size are changed
        by conversion and resizing, so a different value is refused."""

        def work(progress: ProgressReporter) -> None:
            bag = read_embedded(params.get("VirtualDiskSettingData"), "VirtualDiskSettingData")
            path = bag.text("Path")
            if not path:
                raise invalid_parameter("Path", "is required")
            current = self.images.get_settings(Path(path))
            wanted = settings_from_bag(bag, _as_values(current))
            _only_parent_changes(current, wanted)
            if wanted.parent_path is not None and wanted.parent_path != current.parent_path:
                self.images.set_parent(current.path, wanted.parent_path, False, progress)
            else:
                progress(100)

        return self.start("SetVirtualHardDiskSettingData", work, {"child_path": "Path"})

    def get_settings(self, params: dict[str, Any]) -> MethodReturn:
        try:
            found = self.images.get_settings(_path(params, "Path"))
        except Exception as error:  # noqa: BLE001 - reported through the job
            return self.failing("GetVirtualHardDiskSettingData", error)
        text = settings_instance(self.virt.renderer, found).tocimxmlstr()
        return self.start("GetVirtualHardDiskSettingData", lambda progress: progress(100), SettingData=text)

    def get_state(self, params: dict[str, Any]) -> MethodReturn:
        try:
            found = self.images.get_state(_path(params, "Path"))
        except Exception as error:  # noqa: BLE001 - reported through the job
            return self.failing("GetVirtualHardDiskState", error)
        text = state_instance(self.virt.renderer, found).tocimxmlstr()
        return self.start("GetVirtualHardDiskState", lambda progress: progress(100), State=text)


def _size(value: Any) -> int:
    if value is None:
        raise invalid_parameter("MaxInternalSize", "is required")
    text = str(value).strip()  # a pywbem Uint64 prints as its number
    try:
        size = int(text)
    except ValueError:
        size = 0
    if size <= 0 or size % 512:
        shown = text if text.lstrip("-").isdigit() else repr(text)
        raise invalid_parameter("MaxInternalSize", f"{shown} is not a positive multiple of 512 bytes")
    return size


def _as_values(settings: VirtualHardDiskSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in VirtualHardDiskSettings.model_fields}


def _only_parent_changes(current: VirtualHardDiskSettings, wanted: VirtualHardDiskSettings) -> None:
    for field in ("type", "format", "max_internal_size", "block_size", "logical_sector_size", "physical_sector_size"):
        if getattr(wanted, field) != getattr(current, field):
            prop = FIELD_PROPERTIES[field]
            raise invalid_parameter(prop, "cannot be changed here; convert or resize the disk instead")
    if wanted.parent_path is not None and current.type is not VirtualHardDiskType.DIFFERENCING:
        raise invalid_parameter("ParentPath", "only a differencing disk has a parent")
