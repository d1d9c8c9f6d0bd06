"""Virtual hard disk images in hypervisor terms: what kind of image a file
is, how it is laid out, and what can be said about its state.

The CIM side maps these onto Msvm_VirtualHardDiskSettingData (Type 2 fixed,
3 dynamic, 4 differencing; Format 2 VHD, 3 VHDX) and
Msvm_VirtualHardDiskState. qcow2 and raw exist only as conversion targets
and sources for KVM; Hyper-V has no number for them.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from pydantic import Field, model_validator

from cimprovider.schemas.base import SchemaModel

MIB = 1024 * 1024
# The VHD format addresses at most 2040 GiB (Microsoft's limit for VHD); the
# block sizes below are the ones Hyper-V and qemu accept for dynamic VHDs.
VHD_MAX_SIZE = 2040 * 1024 * MIB
VHDX_MAX_SIZE = 64 * 1024 * 1024 * MIB
VHD_BLOCK_SIZES = (512 * 1024, 2 * MIB)
VHDX_BLOCK_SIZES = tuple(MIB * n for n in (1, 2, 4, 8, 16, 32, 64, 128, 256))


class VirtualHardDiskType(str, Enum):
    FIXED = "fixed"
    DYNAMIC = "dynamic"
    DIFFERENCING = "differencing"


class VirtualHardDiskFormat(str, Enum):
    VHD = "vhd"
    VHDX = "vhdx"
    QCOW2 = "qcow2"
    RAW = "raw"


class VirtualHardDiskSettings(SchemaModel):
    """What an image is, or is to be. `max_internal_size` is the virtual
    size the guest sees, in bytes; a differencing disk inherits it from its
    parent when it is left at 0."""

    type: VirtualHardDiskType
    format: VirtualHardDiskFormat
    path: Path
    parent_path: Path | None = None
    max_internal_size: int = Field(default=0, ge=0)
    # 0 means the format's default (2 MiB for VHD, 32 MiB for VHDX).
    block_size: int = Field(default=0, ge=0)
    logical_sector_size: int = 512
    physical_sector_size: int = 512

    @model_validator(mode="after")
    def _consistent(self) -> "VirtualHardDiskSettings":
        differencing = self.type is VirtualHardDiskType.DIFFERENCING
        if differencing and self.parent_path is None:
            raise ValueError("parent_path: a differencing disk needs a parent")
        if not differencing and self.parent_path is not None:
            raise ValueError("parent_path: only a differencing disk has a parent")
        if not differencing and self.max_internal_size == 0:
            raise ValueError("max_internal_size: must be given for a fixed or dynamic disk")
        if self.max_internal_size % 512:
            raise ValueError("max_internal_size: must be a multiple of 512 bytes")
        if self.format in (VirtualHardDiskFormat.QCOW2, VirtualHardDiskFormat.RAW):
            if differencing:
                raise ValueError("type: qcow2 and raw images are made by conversion only")
        if self.format is VirtualHardDiskFormat.VHD:
            if self.max_internal_size > VHD_MAX_SIZE:
                raise ValueError(f"max_internal_size: a VHD holds at most {VHD_MAX_SIZE} bytes")
            if self.block_size and self.block_size not in VHD_BLOCK_SIZES:
                raise ValueError(f"block_size: a VHD block is one of {list(VHD_BLOCK_SIZES)} bytes")
            if self.logical_sector_size != 512:
                raise ValueError("logical_sector_size: a VHD has 512-byte sectors")
            if self.physical_sector_size != 512:
                raise ValueError("physical_sector_size: a VHD has 512-byte sectors")
        if self.format is VirtualHardDiskFormat.VHDX:
            if self.max_internal_size > VHDX_MAX_SIZE:
                raise ValueError(f"max_internal_size: a VHDX holds at most {VHDX_MAX_SIZE} bytes")
            if self.block_size and self.block_size not in VHDX_BLOCK_SIZES:
                raise ValueError("block_size: a VHDX block is a power of two from 1 MiB to 256 MiB")
            if self.logical_sector_size not in (512, 4096):
                raise ValueError("logical_sector_size: must be 512 or 4096")
            if self.physical_sector_size not in (512, 4096):
                raise ValueError("physical_sector_size: must be 512 or 4096")
            if self.physical_sector_size < self.logical_sector_size:
                raise ValueError("physical_sector_size: cannot be smaller than the logical sector size")
        return self


class VirtualHardDiskState(SchemaModel):
    """What is known of an image file now (Msvm_VirtualHardDiskState).

    `fragmentation_percent` is the share of allocated blocks that do not
    follow their predecessor in the file, for VHD; None where we cannot tell.
    """

    path: Path
    file_size: int = Field(ge=0)
    in_use: bool
    min_internal_size: int | None = None
    physical_sector_size: int = 512
    alignment: int | None = None
    fragmentation_percent: int | None = Field(default=None, ge=0, le=100)
