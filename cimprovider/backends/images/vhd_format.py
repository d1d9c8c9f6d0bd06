"""The on-disk structures of a VHD, after Microsoft's Virtual Hard Disk Image
Format Specification: the 512-byte footer, the dynamic disk header with its
parent locators, and the CHS geometry. Bytes in, dataclasses out, and back;
no file access here. All integers are big-endian, as the specification says.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field, replace
from enum import IntEnum
from uuid import UUID

SECTOR = 512
FOOTER_SIZE = 512
HEADER_SIZE = 1024
FOOTER_COOKIE = b"conectix"
HEADER_COOKIE = b"cxsparse"
FIXED_DATA_OFFSET = 0xFFFFFFFFFFFFFFFF
UNUSED_BLOCK = 0xFFFFFFFF
DEFAULT_BLOCK_SIZE = 2 * 1024 * 1024
LOCATOR_COUNT = 8
# Bit 1 of Features is "reserved, must always be set".
FEATURES_RESERVED = 0x00000002
FORMAT_VERSION = 0x00010000
HEADER_VERSION = 0x00010000
CREATOR_APPLICATION = b"cimp"
CREATOR_VERSION = 0x00010000
CREATOR_HOST_OS = b"Wi2k"
# VHD time stamps count seconds from 2000-01-01 00:00:00 UTC.
VHD_EPOCH = 946684800

_FOOTER = struct.Struct(">8sIIQI4sI4sQQHBBII16sB427s")
_HEADER = struct.Struct(">8sQQIIII16sII512s192s256s")
_LOCATOR = struct.Struct(">4sIIIQ")


class VhdFormatError(ValueError):
    """Bytes that are not the structure they should be; says which and why."""


class DiskType(IntEnum):
    FIXED = 2
    DYNAMIC = 3
    DIFFERENCING = 4


class PlatformCode:
    """Parent locator kinds Hyper-V writes: Windows paths in UTF-16LE."""

    NONE = b"\0\0\0\0"
    ABSOLUTE = b"W2ku"
    RELATIVE = b"W2ru"


def vhd_timestamp(unix_seconds: float | None = None) -> int:
    seconds = time.time() if unix_seconds is None else unix_seconds
    return max(0, int(seconds) - VHD_EPOCH) & 0xFFFFFFFF


def checksum(data: bytes, skip: slice) -> int:
    """One's complement of the byte sum, the checksum field itself left out."""
    return ~(sum(data[: skip.start]) + sum(data[skip.stop :])) & 0xFFFFFFFF


@dataclass(frozen=True)
class Geometry:
    cylinders: int
    heads: int
    sectors_per_track: int

    @classmethod
    def for_size(cls, size: int) -> "Geometry":
        """The specification's CHS algorithm (its appendix), verbatim in intent."""
        total = min(size // SECTOR, 65535 * 16 * 255)
        if total >= 65535 * 16 * 63:
            spt, heads = 255, 16
            cyl_heads = total // spt
        else:
            spt = 17
            cyl_heads = total // spt
            heads = max(4, (cyl_heads + 1023) // 1024)
            if cyl_heads >= heads * 1024 or heads > 16:
                spt, heads = 31, 16
                cyl_heads = total // spt
            if cyl_heads >= heads * 1024:
                spt, heads = 63, 16
                cyl_heads = total // spt
        return cls(cyl_heads // heads, heads, spt)

    @property
    def size(self) -> int:
        return self.cylinders * self.heads * self.sectors_per_track * SECTOR


# qemu sizes a VHD by its CHS geometry unless it knows the creator (Hyper-V,
# disk2vhd, qemu's own "qem2") or the geometry is the largest there is; the
# latter is how qemu's own force_size images say "the current size field is
# the size", and we say it the same way rather than pose as another creator.
SIZE_IN_FOOTER = Geometry(65535, 16, 255)


@dataclass(frozen=True)
class Footer:
    disk_type: DiskType
    current_size: int
    original_size: int
    unique_id: UUID
    data_offset: int = FIXED_DATA_OFFSET
    timestamp: int = 0
    geometry: Geometry = SIZE_IN_FOOTER
    features: int = FEATURES_RESERVED
    format_version: int = FORMAT_VERSION
    creator_application: bytes = CREATOR_APPLICATION
    creator_version: int = CREATOR_VERSION
    creator_host_os: bytes = CREATOR_HOST_OS
    saved_state: bool = False

    def pack(self) -> bytes:
        geometry = self.geometry
        fields = (
            FOOTER_COOKIE, self.features, self.format_version, self.data_offset, self.timestamp,
            self.creator_application, self.creator_version, self.creator_host_os,
            self.original_size, self.current_size,
            geometry.cylinders, geometry.heads, geometry.sectors_per_track,
            int(self.disk_type), 0, self.unique_id.bytes, int(self.saved_state), b"",
        )  # fmt: skip
        data = bytearray(_FOOTER.pack(*fields))
        data[64:68] = checksum(bytes(data), slice(64, 68)).to_bytes(4, "big")
        return bytes(data)

    @classmethod
    def unpack(cls, data: bytes) -> "Footer":
        if len(data) < FOOTER_SIZE:
            raise VhdFormatError(f"footer: {len(data)} bytes, expected {FOOTER_SIZE}")
        data = data[:FOOTER_SIZE]
        (cookie, features, version, data_offset, timestamp, app, app_version, host_os, original, current,
         cylinders, heads, spt, disk_type, stored_sum, unique, saved, _) = _FOOTER.unpack(data)  # fmt: skip
        if cookie != FOOTER_COOKIE:
            raise VhdFormatError(f"footer: cookie {cookie!r}, expected {FOOTER_COOKIE!r}")
        expected = checksum(data, slice(64, 68))
        if stored_sum != expected:
            raise VhdFormatError(f"footer: checksum {stored_sum:#010x}, computed {expected:#010x}")
        try:
            kind = DiskType(disk_type)
        except ValueError:
            raise VhdFormatError(f"footer: disk type {disk_type} is not fixed (2), dynamic (3) or differencing (4)")
        if kind is not DiskType.FIXED and data_offset == FIXED_DATA_OFFSET:
            raise VhdFormatError("footer: a dynamic or differencing disk without a header offset")
        if current % SECTOR:
            raise VhdFormatError(f"footer: current size {current} is not a whole number of sectors")
        return cls(
            disk_type=kind, current_size=current, original_size=original, unique_id=UUID(bytes=unique),
            data_offset=data_offset, timestamp=timestamp, geometry=Geometry(cylinders, heads, spt),
            features=features, format_version=version, creator_application=app, creator_version=app_version,
            creator_host_os=host_os, saved_state=bool(saved),
        )  # fmt: skip

    def resized(self, size: int) -> "Footer":
        """The specification calls the original size informational, but
        libvhdi reports it as the disk's size, so both follow a resize."""
        keep = self.geometry == SIZE_IN_FOOTER
        geometry = SIZE_IN_FOOTER if keep else Geometry.for_size(size)
        return replace(self, current_size=size, original_size=size, geometry=geometry)


@dataclass(frozen=True)
class ParentLocator:
    platform_code: bytes = PlatformCode.NONE
    # Bytes reserved at data_offset. The specification says sectors; Hyper-V
    # writes bytes, so we write bytes (always a whole number of sectors, which
    # keeps the two readings apart) and never rely on it when reading.
    data_space: int = 0
    data_length: int = 0
    data_offset: int = 0

    @property
    def used(self) -> bool:
        return self.platform_code != PlatformCode.NONE


@dataclass(frozen=True)
class DynamicHeader:
    table_offset: int
    max_table_entries: int
    block_size: int = DEFAULT_BLOCK_SIZE
    parent_unique_id: UUID = UUID(int=0)
    parent_timestamp: int = 0
    parent_name: str = ""
    locators: tuple[ParentLocator, ...] = field(default=(ParentLocator(),) * LOCATOR_COUNT)
    data_offset: int = FIXED_DATA_OFFSET
    header_version: int = HEADER_VERSION

    def pack(self) -> bytes:
        # The header's parent name is UTF-16 big-endian (the locators' data
        # is little-endian): that is what the specification and Hyper-V do.
        name = self.parent_name.encode("utf-16-be")
        if len(name) > 512:
            raise VhdFormatError(f"header: parent name of {len(name)} bytes exceeds 512")
        locators = b"".join(_LOCATOR.pack(x.platform_code, x.data_space, x.data_length, 0, x.data_offset) for x in self.locators)
        data = bytearray(
            _HEADER.pack(
                HEADER_COOKIE, self.data_offset, self.table_offset, self.header_version, self.max_table_entries,
                self.block_size, 0, self.parent_unique_id.bytes, self.parent_timestamp, 0, name, locators, b"",
            )
        )  # fmt: skip
        data[36:40] = checksum(bytes(data), slice(36, 40)).to_bytes(4, "big")
        return bytes(data)

    @classmethod
    def unpack(cls, data: bytes) -> "DynamicHeader":
        if len(data) < HEADER_SIZE:
            raise VhdFormatError(f"dynamic header: {len(data)} bytes, expected {HEADER_SIZE}")
        data = data[:HEADER_SIZE]
        (cookie, data_offset, table_offset, version, entries, block_size, stored_sum, parent_id, parent_time, _,
         name, locator_bytes, _) = _HEADER.unpack(data)  # fmt: skip
        if cookie != HEADER_COOKIE:
            raise VhdFormatError(f"dynamic header: cookie {cookie!r}, expected {HEADER_COOKIE!r}")
        expected = checksum(data, slice(36, 40))
        if stored_sum != expected:
            raise VhdFormatError(f"dynamic header: checksum {stored_sum:#010x}, computed {expected:#010x}")
        if block_size < SECTOR or block_size & (block_size - 1):
            raise VhdFormatError(f"dynamic header: block size {block_size} is not a power of two ≥ 512")
        locators = []
        for index in range(LOCATOR_COUNT):
            code, space, length, _, offset = _LOCATOR.unpack_from(locator_bytes, index * _LOCATOR.size)
            locators.append(ParentLocator(code, space, length, offset))
        return cls(
            table_offset=table_offset, max_table_entries=entries, block_size=block_size,
            parent_unique_id=UUID(bytes=parent_id), parent_timestamp=parent_time,
            parent_name=name.decode("utf-16-be", errors="replace").split("\0", 1)[0],
            locators=tuple(locators), data_offset=data_offset, header_version=version,
        )  # fmt: skip

    @property
    def sectors_per_block(self) -> int:
        return self.block_size // SECTOR

    @property
    def bitmap_size(self) -> int:
        """Bytes of sector bitmap in front of each block, padded to a sector."""
        return round_up(self.sectors_per_block // 8, SECTOR)

    @property
    def table_size(self) -> int:
        """Bytes the block allocation table takes, padded to a sector."""
        return round_up(self.max_table_entries * 4, SECTOR)


def round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def pack_table(entries: list[int], size: int) -> bytes:
    data = struct.pack(f">{len(entries)}I", *entries)
    return data + b"\xff" * (size - len(data))


def unpack_table(data: bytes, count: int) -> list[int]:
    return list(struct.unpack_from(f">{count}I", data))
