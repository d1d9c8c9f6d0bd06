"""Refusals name the parameter or property the client got wrong, in the
client's terms: the CIM name (never the schema's field), plain numbers, and
the values the file really has."""

from __future__ import annotations

import re
from pathlib import Path

from pywbem import Uint32, Uint64

from cimprovider.backends.images import vhdx
from tests.integration.storage.vhd_client import MIB, create, fail, settings, succeed, vhdsd

SCHEMA_FIELD = re.compile(r"\b[a-z]+_[a-z_]+\b")  # max_internal_size, parent_path, ...


def test_a_conversion_blames_the_destination_for_the_destination(conn, root: Path, tmp_path: Path) -> None:
    source, taken = root / "source.vhdx", root / "taken.vhdx"
    create(conn, source, "dynamic", "vhdx")
    create(conn, taken, "dynamic", "vhdx")
    message = fail(conn, "ConvertVirtualHardDisk", 32773, SourcePath=str(source),
                   VirtualDiskSettingData=vhdsd(taken, "dynamic", "vhdx", size=None))
    assert message == f"Path: {taken} already exists"
    message = fail(conn, "ConvertVirtualHardDisk", 32773, SourcePath=str(source),
                   VirtualDiskSettingData=vhdsd(tmp_path / "out.vhd", "dynamic", "vhd", size=None))
    assert message.startswith(f"Path: {tmp_path / 'out.vhd'} leaves the storage roots")
    message = fail(conn, "ConvertVirtualHardDisk", 32773, SourcePath=str(tmp_path / "elsewhere.vhd"),
                   VirtualDiskSettingData=vhdsd(root / "copy.vhd", "dynamic", "vhd", size=None))
    assert message.startswith("SourcePath:")


def test_a_vhdx_with_4k_physical_sectors_is_made_as_hyper_v_makes_it(conn, root: Path) -> None:
    disk = root / "4k.vhdx"
    create(conn, disk, "dynamic", "vhdx", LogicalSectorSize=Uint32(512), PhysicalSectorSize=Uint32(4096))
    on_disk = vhdx.read_parameters(disk)
    assert (on_disk.logical_sector_size, on_disk.physical_sector_size) == (512, 4096)
    found = settings(conn, disk)
    assert (found["LogicalSectorSize"], found["PhysicalSectorSize"]) == (512, 4096)
    assert succeed(conn, "GetVirtualHardDiskState", Path=str(disk))["State"]["PhysicalSectorSize"] == 4096
    copy = root / "copy.vhdx"
    succeed(conn, "ConvertVirtualHardDisk", SourcePath=str(disk),
            VirtualDiskSettingData=vhdsd(copy, "fixed", "vhdx", size=None, PhysicalSectorSize=Uint32(4096)))
    assert vhdx.read_parameters(copy).physical_sector_size == 4096


def test_sector_sizes_that_cannot_be_written_name_the_one_at_fault(conn, root: Path) -> None:
    message = fail(conn, "CreateVirtualHardDisk", 32773, VirtualDiskSettingData=vhdsd(
        root / "l4k.vhdx", "dynamic", "vhdx", LogicalSectorSize=Uint32(4096), PhysicalSectorSize=Uint32(4096)))
    assert message.startswith("LogicalSectorSize:") and "512-byte logical sectors" in message
    message = fail(conn, "CreateVirtualHardDisk", 32773, VirtualDiskSettingData=vhdsd(
        root / "p4k.vhd", "dynamic", "vhd", PhysicalSectorSize=Uint32(4096)))
    assert message.startswith("PhysicalSectorSize:")
    assert not (root / "l4k.vhdx").exists() and not (root / "p4k.vhd").exists()


def test_state_and_settings_agree_on_the_physical_sector_size(conn, root: Path) -> None:
    disk = root / "hyperv.vhdx"
    create(conn, disk, "dynamic", "vhdx", size=8 * MIB)
    vhdx.set_physical_sector_size(disk, 4096)  # as a VHDX made by Hyper-V has it
    assert settings(conn, disk)["PhysicalSectorSize"] == 4096
    assert succeed(conn, "GetVirtualHardDiskState", Path=str(disk))["State"]["PhysicalSectorSize"] == 4096
    succeed(conn, "ResizeVirtualHardDisk", Path=str(disk), MaxInternalSize=Uint64(16 * MIB))  # rewrites the file
    assert vhdx.read_parameters(disk).physical_sector_size == 4096
    assert settings(conn, disk)["PhysicalSectorSize"] == 4096
    assert succeed(conn, "GetVirtualHardDiskState", Path=str(disk))["State"]["PhysicalSectorSize"] == 4096


def test_resize_refusals_show_plain_numbers_and_cim_names(conn, root: Path) -> None:
    vhd, disk = root / "r.vhd", root / "r.vhdx"
    create(conn, vhd)
    create(conn, disk, "dynamic", "vhdx")
    assert fail(conn, "ResizeVirtualHardDisk", 32773, Path=str(vhd), MaxInternalSize=Uint64(1000)) == (
        "MaxInternalSize: 1000 is not a positive multiple of 512 bytes")
    assert fail(conn, "ResizeVirtualHardDisk", 32773, Path=str(vhd)) == "MaxInternalSize: is required"
    messages = [
        fail(conn, "ResizeVirtualHardDisk", 32773, Path=str(vhd), MaxInternalSize=Uint64(1000)),
        fail(conn, "CreateVirtualHardDisk", 32773, VirtualDiskSettingData=vhdsd(root / "n.vhd", size=None)),
        fail(conn, "CreateVirtualHardDisk", 32773, VirtualDiskSettingData=vhdsd(root / "n.vhd", size=1000)),
        fail(conn, "CreateVirtualHardDisk", 32773, VirtualDiskSettingData=vhdsd(root / "n.vhd", BlockSize=Uint32(12345))),
        fail(conn, "ConvertVirtualHardDisk", 32773, SourcePath=str(disk), VirtualDiskSettingData=vhdsd(disk, size=None)),
        fail(conn, "SetParentVirtualHardDisk", 32773, ChildPath=str(vhd), ParentPath=str(disk)),
    ]
    for message in messages:
        assert "Uint64(" not in message and "None" not in message, message
        assert not SCHEMA_FIELD.search(message.replace(str(root), "")), message
