"""VHDX: reading the settings qemu-img does not report, and resizing.

Reading: `qemu-img info` gives size and block size but not whether blocks are
left allocated (fixed) nor the sector sizes, so the metadata region is read
here (region table at 192 KiB, metadata table, File Parameters and sector
size items; little-endian, GUIDs in Windows byte order).

Resizing goes through a convert round trip rather than a native
implementation: VHDX → sparse raw beside it, the raw file grown (or, when
only zeros lie past the new end, cut), raw → VHDX with the same subformat
and block size, renamed over the original. qemu-img 7.2 cannot resize VHDX,
and a native resize must rewrite the BAT with its interleaved sector-bitmap
entries, the metadata and both checksummed headers through the log; getting
any of that wrong corrupts a disk Hyper-V will later open. The round trip
relies only on qemu's well-tested VHDX writer; its costs are one copy of the
allocated data, scratch space for it, and new VHDX identifiers in the result
(no differencing VHDX exists here to depend on them).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from cimprovider.backends.images.allocation import allocate_file
from cimprovider.backends.images.errors import CorruptImageError, ImageError, InvalidImageParameterError
from cimprovider.backends.images.partial_files import partial_name
from cimprovider.backends.images.qemu_img import ProgressCallback, QemuImg

_REGION_TABLE = 192 * 1024
_METADATA_REGION = UUID("8b7ca206-4790-4b9a-b8fe-575f050f886e")
_FILE_PARAMETERS = UUID("caa16737-fa36-4d43-b3b6-33f0aa44e76b")
_VIRTUAL_DISK_SIZE = UUID("2fa54224-cd1b-4876-b211-5dbed83bf4b8")
_LOGICAL_SECTOR = UUID("8141bf1d-a96f-4709-ba47-f233a8faab5f")
_PHYSICAL_SECTOR = UUID("cda348c7-445d-4471-9cc9-e9885251c556")
_CHUNK = 1024 * 1024
# The logical sector size qemu-img's VHDX writer lays data out in, and the
# physical one it records.
QEMU_SECTOR_SIZE = 512


@dataclass(frozen=True)
class VhdxParameters:
    size: int
    block_size: int
    fixed: bool
    has_parent: bool
    logical_sector_size: int
    physical_sector_size: int


def read_parameters(path: Path) -> VhdxParameters:
    try:
        with open(path, "rb") as file:
            if file.read(8) != b"vhdxfile":
                raise CorruptImageError(path, ["no VHDX file identifier"])
            items = _metadata_items(file.fileno(), path)
    except struct.error:
        raise CorruptImageError(path, ["VHDX metadata is truncated"]) from None
    try:
        block_size, flags = struct.unpack("<II", items[_FILE_PARAMETERS][:8])
        (size,) = struct.unpack("<Q", items[_VIRTUAL_DISK_SIZE][:8])
        (logical,) = struct.unpack("<I", items[_LOGICAL_SECTOR][:4])
        (physical,) = struct.unpack("<I", items[_PHYSICAL_SECTOR][:4])
    except (KeyError, struct.error):
        raise CorruptImageError(path, ["VHDX metadata lacks a required item"]) from None
    return VhdxParameters(size, block_size, bool(flags & 1), bool(flags & 2), logical, physical)


def _metadata_items(fd: int, path: Path) -> dict[UUID, bytes]:
    return {guid: os.pread(fd, length, offset) for guid, (offset, length) in metadata_places(fd, path).items()}


def set_physical_sector_size(path: Path, size: int) -> None:
    """Write the Physical Sector Size item of a VHDX no one has open (a
    copy being made): qemu-img writes 512, and a copy keeps the original's."""
    with open(path, "r+b") as file:
        offset, _ = metadata_places(file.fileno(), path)[_PHYSICAL_SECTOR]
        os.pwrite(file.fileno(), struct.pack("<I", size), offset)


def metadata_places(fd: int, path: Path) -> dict[UUID, tuple[int, int]]:
    """Each metadata item's (file offset, length)."""
    table = os.pread(fd, 64 * 1024, _REGION_TABLE)
    signature, _, count, _ = struct.unpack_from("<4sIII", table, 0)
    if signature != b"regi":
        raise CorruptImageError(path, ["no VHDX region table"])
    region_offset = None
    for index in range(min(count, 2047)):
        guid, offset, _length, _required = struct.unpack_from("<16sQII", table, 16 + 32 * index)
        if UUID(bytes_le=guid) == _METADATA_REGION:
            region_offset = offset
    if region_offset is None:
        raise CorruptImageError(path, ["no VHDX metadata region"])
    metadata = os.pread(fd, 64 * 1024, region_offset)
    signature, _, entries = struct.unpack_from("<8sHH", metadata, 0)
    if signature != b"metadata":
        raise CorruptImageError(path, ["no VHDX metadata table"])
    places = {}
    for index in range(min(entries, 2047)):
        guid, offset, length, _flags, _ = struct.unpack_from("<16sIIII", metadata, 32 + 32 * index)
        places[UUID(bytes_le=guid)] = (region_offset + offset, length)
    return places


def resize(path: Path, size: int, tool: QemuImg, progress: ProgressCallback | None = None) -> None:
    path = Path(path)
    before = read_parameters(path)
    if size == before.size:
        return
    if size <= 0 or size % before.logical_sector_size:
        raise InvalidImageParameterError("max_internal_size", f"{size} is not a positive multiple of the sector size")
    raw, rebuilt = partial_name(path), partial_name(path)
    step = _steps(progress)
    try:
        tool.convert(path, raw, "raw", source_format="vhdx", progress=step(0, 45))
        if size < before.size:
            end = _data_end(raw)
            if end > size:
                raise InvalidImageParameterError("max_internal_size", f"{path} holds data up to byte {end}; it cannot shrink to {size}")
        os.truncate(raw, size)
        options = {"subformat": "fixed" if before.fixed else "dynamic", "block_size": str(before.block_size)}
        tool.convert(raw, rebuilt, "vhdx", source_format="raw", options=options, progress=step(45, 100))
        set_physical_sector_size(rebuilt, before.physical_sector_size)  # qemu-img writes 512
        if before.fixed:
            allocate_file(rebuilt, path)  # a fixed disk stays allocated whole
        os.replace(rebuilt, path)
    except OSError as error:
        raise ImageError(f"{path}: resize failed: {error}") from error
    finally:
        raw.unlink(missing_ok=True)
        rebuilt.unlink(missing_ok=True)


def _data_end(raw: Path) -> int:
    """End of the last non-zero byte of a sparse raw file (holes skipped)."""
    end = 0
    with open(raw, "rb") as file:
        fd, size, position = file.fileno(), os.fstat(file.fileno()).st_size, 0
        while position < size:
            try:
                start = os.lseek(fd, position, os.SEEK_DATA)
            except OSError:
                break  # no data after position
            stop = os.lseek(fd, start, os.SEEK_HOLE)
            for chunk_start in range(start, stop, _CHUNK):
                chunk = os.pread(fd, min(_CHUNK, stop - chunk_start), chunk_start).rstrip(b"\0")
                if chunk:
                    end = chunk_start + len(chunk)
            position = stop
    return end


def _steps(progress: ProgressCallback | None):  # type: ignore[no-untyped-def]
    """Map each phase's 0–100 onto its share of the whole."""

    def phase(low: int, high: int) -> ProgressCallback | None:
        if progress is None:
            return None
        return lambda percent: progress(min(99, low + (high - low) * percent // 100))

    return phase
