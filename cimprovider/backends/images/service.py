"""ImageService: the one entry point the CIM provider for
Msvm_ImageManagementService calls. Paths are confined to the storage roots
first — an existing image with every file it reads through (`chains`), so a
parent or backing file named inside a crafted image is refused before any
tool opens it; then each operation goes to the tool that does it well — qemu-img
for creating fixed/dynamic images, converting and checking VHDX/qcow2, our
VHD code for differencing disks, merges, VHD resizing, compaction and
validation, and qemu-img's convert for VHDX resizing and compaction.

Every long operation takes an optional progress callback (0–100) and ends
with 100 on success. Errors are the typed ones of `errors`. A new file is
written under a partial name and renamed into place when whole; what that
means for a kill, and for the in-place operations, is in `partial_files`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cimprovider.backends.images import allocation, file_locks, vhd_chain, vhd_inspect, vhd_merge, vhd_resize, vhdx, vhdx_compact
from cimprovider.backends.images.chains import confined_chain
from cimprovider.backends.images.errors import (
    CorruptImageError,
    ImageInUseError,
    ImageNotFoundError,
    InvalidImageParameterError,
)
from cimprovider.backends.images.formats import QEMU_FORMAT as _QEMU_FORMAT
from cimprovider.backends.images.formats import detect_format, working_copy
from cimprovider.backends.images.partial_files import partial_name, written_as
from cimprovider.backends.images.qemu_img import ProgressCallback, QemuImg
from cimprovider.backends.images.storage_roots import StorageRoots
from cimprovider.backends.images.vhd_file import VhdFile
from cimprovider.backends.images.vhd_format import DEFAULT_BLOCK_SIZE, DiskType
from cimprovider.schemas.images import (
    VHD_MAX_SIZE,
    VHDX_MAX_SIZE,
    VirtualHardDiskFormat,
    VirtualHardDiskSettings,
    VirtualHardDiskState,
    VirtualHardDiskType,
)

Format = VirtualHardDiskFormat
Type = VirtualHardDiskType
_DISK_TYPE = {DiskType.FIXED: Type.FIXED, DiskType.DYNAMIC: Type.DYNAMIC, DiskType.DIFFERENCING: Type.DIFFERENCING}
_EXPORT_CHUNK = 1024 * 1024
# The names Hyper-V gives virtual hard disks (and a checkpoint's differencing ones).
VIRTUAL_HARD_DISK_SUFFIXES = (".vhd", ".vhdx", ".avhd", ".avhdx")


class ImageService:
    """`attached(path)` tells whether a running VM uses the disk (the
    backend knows; a file lock only shows it for real qemu processes)."""

    def __init__(
        self,
        roots: StorageRoots,
        qemu_img: QemuImg | None = None,
        attached: Callable[[Path], bool] | None = None,
    ) -> None:
        self.roots = roots
        self.qemu_img = qemu_img or QemuImg()
        self.attached = attached or (lambda path: False)

    # --- creating and converting

    def create(self, settings: VirtualHardDiskSettings, progress: ProgressCallback | None = None) -> VirtualHardDiskSettings:
        path = self._new_file(settings.path)
        with written_as(path) as partial:
            self._create(partial, settings)
            _complete(partial, settings, path)
        return self._finish(path, progress)

    def _create(self, path: Path, settings: VirtualHardDiskSettings) -> None:
        kind, fmt = settings.type, settings.format
        if kind is Type.DIFFERENCING:
            parent = self._existing(settings.parent_path, "parent_path")  # type: ignore[arg-type]
            if fmt is not Format.VHD or detect_format(parent, self.qemu_img) is not Format.VHD:
                raise InvalidImageParameterError("format", "differencing disks are made as VHD on a VHD parent only")
            vhd_chain.create_differencing(path, parent, settings.block_size)
            if settings.max_internal_size:
                self._fit_differencing(path, settings.max_internal_size)
        elif fmt is Format.VHD and kind is Type.DYNAMIC and settings.block_size not in (0, DEFAULT_BLOCK_SIZE):
            vhd_chain.create_dynamic(path, settings.max_internal_size, settings.block_size)  # qemu makes 2 MiB only
        else:
            self.qemu_img.create(path, _QEMU_FORMAT[fmt], settings.max_internal_size, _create_options(settings))

    def convert(
        self, source: Path, settings: VirtualHardDiskSettings, progress: ProgressCallback | None = None
    ) -> VirtualHardDiskSettings:
        """A copy of `source` as `settings` says (type and format; its size is the source's)."""
        source = self._existing(source, "source_path")
        destination = self._new_file(settings.path)
        if settings.type is Type.DIFFERENCING:
            raise InvalidImageParameterError("type", "a conversion makes a fixed or dynamic disk")
        if settings.type is Type.FIXED:
            allocation.require_free(destination.parent, settings.max_internal_size, destination)
        with self._readable(source) as (readable, source_format), written_as(destination) as partial:
            self.qemu_img.convert(
                readable, partial, _QEMU_FORMAT[settings.format], source_format=source_format,
                options=_create_options(settings), progress=progress,
            )  # fmt: skip
            _complete(partial, settings, destination)
        return self._finish(destination, progress)

    # --- changing

    def resize(self, path: Path, size: int, progress: ProgressCallback | None = None) -> None:
        path = self._existing(path)
        fmt = detect_format(path, self.qemu_img)
        if fmt not in (Format.VHD, Format.VHDX):
            raise InvalidImageParameterError("path", f"{path} is {fmt.value}; only VHD and VHDX are resized here")
        self._no_working_copy(path)
        limit = VHD_MAX_SIZE if fmt is Format.VHD else VHDX_MAX_SIZE
        if size > limit:
            # Past it the file is one no reader (qemu, Hyper-V) opens again.
            raise InvalidImageParameterError("max_internal_size", f"{size} is more than a {fmt.value.upper()} holds "
                                             f"({limit} bytes)")
        current = self.get_settings(path).max_internal_size
        if size != current and self.attached(path):
            # As on Hyper-V: only a VHDX is resized online, and only grown.
            if fmt is Format.VHD:
                raise ImageInUseError(
                    f"{path} is attached to a running virtual machine; a VHD cannot be resized while in use "
                    "(only a VHDX can grow online): turn the virtual machine off first"
                )
            if size < current:
                raise ImageInUseError(f"{path} is attached to a running virtual machine; it can only grow")
        if fmt is Format.VHD:
            vhd_resize.resize(path, size, progress)
        else:
            vhdx.resize(path, size, self.qemu_img, progress)
        _done(progress)

    def compact(self, path: Path, progress: ProgressCallback | None = None) -> None:
        path = self._existing(path)
        fmt = detect_format(path, self.qemu_img)
        if fmt not in (Format.VHD, Format.VHDX):
            raise InvalidImageParameterError("path", f"{path} is not a VHD or VHDX but {fmt.value}; only those compact")
        self._no_working_copy(path)
        self._not_attached(path)
        if fmt is Format.VHD:
            vhd_resize.compact(path, progress)
        else:
            vhdx_compact.compact(path, self.qemu_img, progress)
        _done(progress)

    def merge(self, source: Path, destination: Path, progress: ProgressCallback | None = None) -> list[Path]:
        """Merge `source` into `destination` (its parent or an ancestor);
        returns the files merged away (the source and any in between)."""
        source = self._vhd(source, "merge", "source_path")
        destination = self._existing(destination, "destination_path")
        for path in (source, destination):
            self._no_working_copy(path)
            self._not_attached(path)
        merged = vhd_merge.merge(source, destination, self.roots, progress)
        _done(progress)
        return merged

    def set_parent(
        self, child: Path, parent: Path, ignore_id_mismatch: bool = False, progress: ProgressCallback | None = None
    ) -> None:
        # The child's current parent is not followed (it may be the very
        # outside file being mended away), so its chain is not vetted.
        child = self._vhd(child, "re-parent", "child_path", follow=False)
        parent = self._existing(parent, "parent_path", follow=False)
        self._no_working_copy(child)
        self._not_attached(child)
        if detect_format(parent, self.qemu_img) is not Format.VHD:
            raise InvalidImageParameterError("parent_path", f"{parent} is not a VHD")
        parent_chain = confined_chain(parent, self.roots, self.qemu_img, "parent_path")
        vhd_merge.set_parent(child, parent, ignore_id_mismatch, parent_chain)
        _done(progress)

    # --- looking

    def get_settings(self, path: Path, field: str = "path") -> VirtualHardDiskSettings:
        path = self._existing(path, field)
        fmt = detect_format(path, self.qemu_img)
        _as_named(path, fmt)
        if fmt is Format.VHD:
            found = vhd_inspect.describe(path, self.roots)
            if found.disk_type is DiskType.DIFFERENCING and found.parent_path is None:
                raise ImageNotFoundError(f"{path}: parent disk {found.parent_unique_id} not found")
            return VirtualHardDiskSettings(
                type=_DISK_TYPE[found.disk_type], format=fmt, path=path, parent_path=found.parent_path,
                max_internal_size=found.size, block_size=found.block_size,
            )  # fmt: skip
        if fmt is Format.VHDX:
            params = vhdx.read_parameters(path)
            if params.has_parent:
                raise InvalidImageParameterError(field, f"{path} is a differencing VHDX, which is not supported")
            return VirtualHardDiskSettings(
                type=Type.FIXED if params.fixed else Type.DYNAMIC, format=fmt, path=path,
                max_internal_size=params.size, block_size=params.block_size,
                logical_sector_size=params.logical_sector_size, physical_sector_size=params.physical_sector_size,
            )  # fmt: skip
        info = self.qemu_img.info(path, _QEMU_FORMAT[fmt])
        sparse = fmt is Format.QCOW2 or info.actual_size < info.virtual_size
        return VirtualHardDiskSettings(
            type=Type.DYNAMIC if sparse else Type.FIXED, format=fmt, path=path,
            max_internal_size=info.virtual_size, block_size=info.cluster_size or 0,
        )  # fmt: skip

    def get_state(self, path: Path) -> VirtualHardDiskState:
        path = self._existing(path)
        in_use = self.attached(path) or file_locks.in_use(path)
        state = VirtualHardDiskState(path=path, file_size=path.stat().st_size, in_use=in_use)
        fmt = detect_format(path, self.qemu_img)
        if fmt is Format.VHDX:
            return state.replace(physical_sector_size=vhdx.read_parameters(path).physical_sector_size)
        if fmt is not Format.VHD:
            return state
        found = vhd_inspect.describe(path, self.roots)
        with VhdFile.open(path, lock=False) as image:
            minimum = vhd_resize.minimum_size(image)
            aligned = all(entry % 8 == 0 for entry in image.table if entry != 0xFFFFFFFF)
        return state.replace(
            min_internal_size=minimum, fragmentation_percent=found.fragmentation_percent, alignment=int(aligned)
        )

    def validate(self, path: Path, progress: ProgressCallback | None = None) -> None:
        """Raises CorruptImageError listing every problem; returns when sound."""
        path = self._existing(path)
        fmt = detect_format(path, self.qemu_img)
        _as_named(path, fmt)
        if fmt is Format.VHD:
            problems = vhd_inspect.validate(path, self.roots)
        elif fmt in (Format.VHDX, Format.QCOW2):
            result = self.qemu_img.check(path, _QEMU_FORMAT[fmt])
            problems = [] if result.clean else [f"qemu-img check: {result.corruptions} corruptions, {result.check_errors} errors"]
        else:
            problems = []
        if problems:
            raise CorruptImageError(path, problems)
        _done(progress)

    # --- paths and checks

    def _existing(self, path: Path | str, field: str = "path", follow: bool = True) -> Path:
        """The real path of an image whose whole chain (when the operation
        will `follow` it) is inside the roots."""
        real = self.roots.confine(path, field)
        if not real.is_file():
            raise ImageNotFoundError(f"{path}: no such image file")
        if follow:
            confined_chain(real, self.roots, self.qemu_img, field)
        return real

    def _new_file(self, path: Path | str, field: str = "path") -> Path:
        real = self.roots.confine(path, field)
        if real.exists():
            raise InvalidImageParameterError(field, f"{path} already exists")
        if not real.parent.is_dir():
            raise ImageNotFoundError(f"{real.parent}: no such directory")
        return real

    def _vhd(self, path: Path | str, action: str, field: str = "path", follow: bool = True) -> Path:
        real = self._existing(path, field, follow)
        if detect_format(real, self.qemu_img) is not Format.VHD:
            raise InvalidImageParameterError(field, f"{path} is not a VHD; only VHDs {action} here")
        return real

    def _no_working_copy(self, path: Path) -> None:
        """A disk with a KVM working copy (formats.working_copy) is left as
        it is: the copy holds what the guest wrote, so a change here would
        never reach the guest, and, newer than the copy, the file would
        replace it (and the guest's writes) when attached again."""
        copy = Path(working_copy(str(path)))
        if copy.exists():
            raise ImageInUseError(f"{path} has a qcow2 working copy, {copy}, holding what a KVM guest wrote to the disk "
                                  "since it was attached, so this file is not the disk's content: convert the copy to "
                                  "carry that on (ConvertVirtualHardDisk), or delete it to discard the guest's writes")

    def _not_attached(self, path: Path) -> None:
        if self.attached(path):
            raise ImageInUseError(f"{path} is attached to a running virtual machine")

    def _fit_differencing(self, path: Path, size: int) -> None:
        with VhdFile.open(path) as image:
            current = image.size
        if size < current:
            path.unlink()
            raise InvalidImageParameterError("max_internal_size", f"a differencing disk cannot be smaller than its parent ({current})")
        if size > current:
            vhd_resize.resize(path, size)

    def _finish(self, path: Path, progress: ProgressCallback | None) -> VirtualHardDiskSettings:
        settings = self.get_settings(path)
        _done(progress)
        return settings

    @contextmanager
    def _readable(self, source: Path) -> Iterator[tuple[Path, str]]:
        """The source as qemu-img can read it: a differencing VHD (which
        qemu reads without its parent) is first flattened to sparse raw."""
        fmt = detect_format(source, self.qemu_img)
        if fmt is not Format.VHD or vhd_inspect.describe(source, self.roots).disk_type is not DiskType.DIFFERENCING:
            yield source, _QEMU_FORMAT[fmt]
            return
        flat = partial_name(source)
        try:
            with vhd_chain.VhdChain.open(source, self.roots) as chain, open(flat, "xb") as out:
                for offset in range(0, chain.size, _EXPORT_CHUNK):
                    data = chain.read(offset, min(_EXPORT_CHUNK, chain.size - offset))
                    if any(data):
                        out.seek(offset)
                        out.write(data)
                out.truncate(chain.size)
            yield flat, "raw"
        finally:
            flat.unlink(missing_ok=True)


def _create_options(settings: VirtualHardDiskSettings) -> dict[str, str]:
    subformat = "fixed" if settings.type is Type.FIXED else "dynamic"
    if settings.format is Format.VHD:
        return {"subformat": subformat, "force_size": "on"}
    if settings.format is Format.VHDX:
        if settings.logical_sector_size != vhdx.QEMU_SECTOR_SIZE:
            raise InvalidImageParameterError(
                "logical_sector_size", f"VHDX is written with {vhdx.QEMU_SECTOR_SIZE}-byte logical sectors only"
            )
        options = {"subformat": subformat}
        if settings.block_size:
            options["block_size"] = str(settings.block_size)
        return options
    if settings.format is Format.RAW and settings.type is Type.FIXED:
        return {"preallocation": "full"}
    return {}


def _complete(partial: Path, settings: VirtualHardDiskSettings, subject: Path) -> None:
    """What qemu-img leaves undone on a new image: a VHDX's physical sector
    size (it always writes 512; the item is a hint to the guest, not part of
    the layout), and a fixed VHD or VHDX taking its whole size on the host,
    as on Hyper-V (qemu-img leaves it sparse; raw gets qemu's own full
    preallocation)."""
    if settings.format is Format.VHDX and settings.physical_sector_size != vhdx.QEMU_SECTOR_SIZE:
        vhdx.set_physical_sector_size(partial, settings.physical_sector_size)
    if settings.type is Type.FIXED and settings.format in (Format.VHD, Format.VHDX):
        allocation.allocate_file(partial, subject)


def _done(progress: ProgressCallback | None) -> None:
    if progress is not None:
        progress(100)


def _as_named(path: Path, fmt: VirtualHardDiskFormat) -> None:
    """A file named as a virtual hard disk is one. Read by content, a file
    that is neither VHD nor VHDX reads as raw (or qcow2), which has nothing
    to check; Hyper-V fails such a file."""
    if path.suffix.lower() in VIRTUAL_HARD_DISK_SUFFIXES and fmt not in (Format.VHD, Format.VHDX):
        raise CorruptImageError(path, [f"not a virtual hard disk: named {path.suffix} but its content is neither "
                                       f"a VHD nor a VHDX (it reads as {_QEMU_FORMAT[fmt]})"])
