"""Each Msvm_ImageManagementService method over pywbem against a live
server, every file checked with readers that are not ours: qemu-img
info/check/compare and qemu-io for fixed, dynamic and VHDX images, libvhdi
(vhdiinfo, vhdimount) for differencing VHDs and their chains."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pywbem import Uint16, Uint32, Uint64

from cimprovider.backends.images import StorageRoots, VhdChain
from tests.backends.images.readers import (
    qemu_check,
    qemu_compare,
    qemu_info,
    qemu_io,
    read_with_libvhdi,
    vhdiinfo,
)
from tests.integration.storage.vhd_client import MIB, create, fail, image_service, invoke, settings, succeed, vhdsd


def test_create_fixed_vhd(conn, root: Path) -> None:
    path = root / "fixed.vhd"
    create(conn, path, "fixed", size=3 * MIB)
    assert qemu_info(path, "vpc")["virtual-size"] == 3 * MIB
    assert path.stat().st_size == 3 * MIB + 512  # data and the footer, nothing sparse about it
    assert vhdiinfo(path)["Disk type"] == "Fixed"
    qemu_io(path, "vpc", "write -P 0x5a 1M 64k", "read -P 0x5a 1M 64k")


def test_create_dynamic_vhd_with_a_small_block(conn, root: Path) -> None:
    path = root / "dynamic.vhd"
    create(conn, path, "dynamic", size=4 * MIB, BlockSize=Uint32(512 * 1024))
    info = qemu_info(path, "vpc")
    assert info["virtual-size"] == 4 * MIB and info["cluster-size"] == 512 * 1024
    assert vhdiinfo(path)["Disk type"] == "Dynamic"
    qemu_io(path, "vpc", "write -P 0x11 0 600k", "read -P 0x11 0 600k", "read -P 0 600k 100k")


def test_create_vhdx(conn, root: Path) -> None:
    path = root / "disk.vhdx"
    create(conn, path, "dynamic", "vhdx", size=8 * MIB, BlockSize=Uint32(MIB))
    info = qemu_info(path, "vhdx")
    assert info["virtual-size"] == 8 * MIB and info["cluster-size"] == MIB
    qemu_check(path, "vhdx")
    found = settings(conn, path)
    assert (found["Type"], found["Format"], int(found["MaxInternalSize"]), found["BlockSize"]) == (3, 3, 8 * MIB, MIB)


def test_create_differencing_read_through_by_libvhdi(conn, root: Path, tmp_path: Path) -> None:
    base, child = root / "base.vhd", root / "child.vhd"
    create(conn, base, "dynamic")
    qemu_io(base, "vpc", "write -P 0xab 0 128k")
    create(conn, child, "differencing", size=None, ParentPath=str(base))
    info = vhdiinfo(child)
    assert info["Disk type"] == "Differential" and info["Parent filename"] == "base.vhd"
    assert info["Parent identifier"] == vhdiinfo(base)["Identifier"]
    assert read_with_libvhdi(child, tmp_path / "mnt", 0, 128 * 1024) == b"\xab" * (128 * 1024)
    found = settings(conn, child)
    assert (found["Type"], found["ParentPath"], int(found["MaxInternalSize"])) == (4, str(base), 4 * MIB)


def test_settings_come_back_as_instance_text_on_the_wire(conn, root: Path) -> None:
    path = root / "wire.vhd"
    create(conn, path, "fixed", size=MIB)
    code, out = conn.InvokeMethod("GetVirtualHardDiskSettingData", image_service(conn), Path=str(path))
    raw = conn.last_raw_reply.decode()
    assert code == 4096 and '<PARAMVALUE NAME="SettingData"' in raw
    # A string holding INSTANCE text, which WMI clients parse with findall("PROPERTY").
    assert "<VALUE>&lt;INSTANCE CLASSNAME=\"Msvm_VirtualHardDiskSettingData\"&gt;" in raw
    found = out["SettingData"]
    assert (found["Type"], found["Format"], found["Path"]) == (2, 2, str(path))
    assert int(found["MaxInternalSize"]) == qemu_info(path, "vpc")["virtual-size"]


def test_state_reports_the_file(conn, root: Path) -> None:
    path = root / "state.vhd"
    create(conn, path, "dynamic", size=8 * MIB)
    qemu_io(path, "vpc", "write -P 1 0 3M")
    state = succeed(conn, "GetVirtualHardDiskState", Path=str(path))["State"]
    assert state.classname == "Msvm_VirtualHardDiskState"
    assert int(state["FileSize"]) == path.stat().st_size and state["InUse"] is False
    assert 3 * MIB <= int(state["MinInternalSize"]) <= 4 * MIB  # the data ends inside the second 2 MiB block


def test_resize_vhd_and_vhdx_keep_their_data(conn, root: Path) -> None:
    vhd, vhdx = root / "grow.vhd", root / "grow.vhdx"
    create(conn, vhd, "dynamic", size=4 * MIB)
    create(conn, vhdx, "dynamic", "vhdx", size=4 * MIB)
    for path, fmt in ((vhd, "vpc"), (vhdx, "vhdx")):
        qemu_io(path, fmt, "write -P 0x33 1M 1M")
        succeed(conn, "ResizeVirtualHardDisk", Path=str(path), MaxInternalSize=Uint64(12 * MIB))
        assert qemu_info(path, fmt)["virtual-size"] == 12 * MIB
        qemu_io(path, fmt, "read -P 0x33 1M 1M", "read -P 0 2M 10M")
    qemu_check(vhdx, "vhdx")
    # Shrinking a VHD down to its data is allowed; below it is not.
    succeed(conn, "ResizeVirtualHardDisk", Path=str(vhd), MaxInternalSize=Uint64(2 * MIB))
    assert qemu_info(vhd, "vpc")["virtual-size"] == 2 * MIB
    qemu_io(vhd, "vpc", "read -P 0x33 1M 1M")
    message = fail(conn, "ResizeVirtualHardDisk", 32773, Path=str(vhd), MaxInternalSize=Uint64(1000))
    assert message.startswith("MaxInternalSize")


def test_a_resize_past_what_the_format_holds_is_refused_and_changes_nothing(conn, root: Path) -> None:
    """A VHD addresses at most 2040 GiB, a VHDX 64 TiB: grown past that, the
    file is one qemu-img (and Hyper-V) no longer opens, data and all."""
    for name, fmt, limit in (("limit.vhd", "vpc", 2040 * 1024 * MIB), ("limit.vhdx", "vhdx", 64 * 1024 * 1024 * MIB)):
        path = root / name
        create(conn, path, "dynamic", "vhdx" if fmt == "vhdx" else "vhd", size=4 * MIB)
        qemu_io(path, fmt, "write -P 0x44 0 64k")
        before = path.read_bytes()
        message = fail(conn, "ResizeVirtualHardDisk", 32773, Path=str(path), MaxInternalSize=Uint64(limit + MIB))
        assert message == f"MaxInternalSize: {limit + MIB} is more than a {name.split('.')[1].upper()} holds ({limit} bytes)"
        assert path.read_bytes() == before
        assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == []  # no scratch file left
        qemu_io(path, fmt, "read -P 0x44 0 64k")


def test_compact_gives_back_zeroed_blocks(conn, root: Path) -> None:
    path = root / "compact.vhd"
    create(conn, path, "dynamic", size=8 * MIB)
    qemu_io(path, "vpc", "write -P 0x44 0 2M", "write -P 0 2M 4M", "write -P 0x45 6M 1M")
    before = path.stat().st_size
    succeed(conn, "CompactVirtualHardDisk", Path=str(path), Mode=Uint16(0))
    assert path.stat().st_size <= before - 4 * MIB
    qemu_io(path, "vpc", "read -P 0x44 0 2M", "read -P 0 2M 4M", "read -P 0x45 6M 1M")
    fail(conn, "CompactVirtualHardDisk", 32773, Path=str(path), Mode=Uint16(9))


def test_compact_gives_back_a_vhdx_s_zeroed_blocks(conn, root: Path, tmp_path: Path) -> None:
    path = root / "compact.vhdx"
    create(conn, path, "dynamic", "vhdx", size=64 * MIB, BlockSize=Uint32(MIB))
    qemu_io(path, "vhdx", "write -P 0x44 0 8M", "write -P 0x45 16M 8M", "write -P 0x46 40M 4M")
    # The guest frees what it wrote at 16M, zeroing it (written zeros, and a write-zeroes request).
    qemu_io(path, "vhdx", "write -P 0 16M 4M", "write -z 20M 4M")
    as_written = tmp_path / "as-written.vhdx"
    shutil.copyfile(path, as_written)
    before = path.stat().st_size
    succeed(conn, "CompactVirtualHardDisk", Path=str(path), Mode=Uint16(0))
    assert path.stat().st_size <= before - 8 * MIB, (before, path.stat().st_size)
    assert qemu_compare(as_written, "vhdx", path, "vhdx"), "the compacted disk reads differently"
    qemu_check(path, "vhdx")
    found = settings(conn, path)
    assert (found["Type"], found["Format"], int(found["MaxInternalSize"]), found["BlockSize"]) == (3, 3, 64 * MIB, MIB)
    # Nothing more to give back: the disk stays as it is, and still reads the same.
    compacted = path.stat().st_size
    succeed(conn, "CompactVirtualHardDisk", Path=str(path), Mode=Uint16(1))
    assert path.stat().st_size == compacted and qemu_compare(as_written, "vhdx", path, "vhdx")
    fail(conn, "CompactVirtualHardDisk", 32773, Path=str(path), Mode=Uint16(9))


def test_a_fixed_vhdx_does_not_compact(conn, root: Path) -> None:
    path = root / "fixed-compact.vhdx"
    create(conn, path, "fixed", "vhdx", size=4 * MIB)
    message = fail(conn, "CompactVirtualHardDisk", 32773, Path=str(path), Mode=Uint16(0))
    assert "fixed disk" in message, message


def test_merge_a_child_into_its_parent(conn, root: Path, tmp_path: Path) -> None:
    base, child = root / "base.vhd", root / "child.vhd"
    create(conn, base, "dynamic")
    qemu_io(base, "vpc", "write -P 0xab 0 256k")
    create(conn, child, "differencing", size=None, ParentPath=str(base))
    with VhdChain.open(child, StorageRoots([root]), writable={0}) as chain:  # the guest's writes
        chain.write(128 * 1024, b"\xcd" * (256 * 1024))
    assert read_with_libvhdi(child, tmp_path / "mnt", 0, 384 * 1024) == b"\xab" * (128 * 1024) + b"\xcd" * (256 * 1024)
    succeed(conn, "MergeVirtualHardDisk", SourcePath=str(child), DestinationPath=str(base))
    assert not child.exists()
    qemu_io(base, "vpc", "read -P 0xab 0 128k", "read -P 0xcd 128k 256k", "read -P 0 384k 1M")


def test_convert_between_formats_and_types(conn, root: Path) -> None:
    source, vhdx, fixed = root / "source.vhd", root / "copy.vhdx", root / "copy-fixed.vhd"
    create(conn, source, "dynamic", size=4 * MIB)
    qemu_io(source, "vpc", "write -P 0x77 512k 1M")
    succeed(conn, "ConvertVirtualHardDisk", SourcePath=str(source), VirtualDiskSettingData=vhdsd(vhdx, "dynamic", "vhdx", size=None))
    succeed(conn, "ConvertVirtualHardDisk", SourcePath=str(source), VirtualDiskSettingData=vhdsd(fixed, "fixed", "vhd", size=None))
    qemu_check(vhdx, "vhdx")
    assert qemu_compare(source, "vpc", vhdx, "vhdx") and qemu_compare(source, "vpc", fixed, "vpc")
    assert vhdiinfo(fixed)["Disk type"] == "Fixed" and qemu_info(vhdx, "vhdx")["virtual-size"] == 4 * MIB


def test_convert_flattens_a_differencing_chain(conn, root: Path) -> None:
    base, child, flat = root / "base.vhd", root / "child.vhd", root / "flat.vhdx"
    create(conn, base, "dynamic")
    qemu_io(base, "vpc", "write -P 0x01 0 1M")
    create(conn, child, "differencing", size=None, ParentPath=str(base))
    with VhdChain.open(child, StorageRoots([root]), writable={0}) as chain:
        chain.write(512 * 1024, b"\x02" * MIB)
    succeed(conn, "ConvertVirtualHardDisk", SourcePath=str(child), VirtualDiskSettingData=vhdsd(flat, "dynamic", "vhdx", size=None))
    qemu_io(flat, "vhdx", "read -P 1 0 512k", "read -P 2 512k 1M", "read -P 0 1536k 2560k")


def test_validate_sound_and_damaged_disks(conn, root: Path) -> None:
    path = root / "valid.vhd"
    create(conn, path, "dynamic")
    succeed(conn, "ValidateVirtualHardDisk", Path=str(path))
    with open(path, "r+b") as file:  # break the footer's checksum
        file.seek(-512 + 64, os.SEEK_END)
        file.write(b"\xff\xff\xff\xff")
        file.seek(64)
        file.write(b"\xff\xff\xff\xff")
    message = fail(conn, "ValidateVirtualHardDisk", 32768, Path=str(path))
    assert "checksum" in message.lower()



def test_validate_fails_a_file_named_as_a_virtual_hard_disk_that_is_not_one(conn, root: Path) -> None:
    """Hyper-V's ValidateVirtualHardDisk fails for a file that is not a
    virtual hard disk; read by content, random bytes are a raw image, which
    is no reason to call a .vhd or .vhdx valid."""
    for name in ("noise.vhd", "noise.vhdx"):
        path = root / name
        path.write_bytes(os.urandom(MIB))
        message = fail(conn, "ValidateVirtualHardDisk", 32768, Path=str(path))
        assert str(path) in message and "not a virtual hard disk" in message, message
    raw = root / "noise.img"  # a raw image claims no format: nothing to find wrong
    raw.write_bytes(os.urandom(MIB))
    succeed(conn, "ValidateVirtualHardDisk", Path=str(raw))

def test_set_parent_and_set_settings_re_point_a_child(conn, root: Path, tmp_path: Path) -> None:
    base, child = root / "base.vhd", root / "child.vhd"
    create(conn, base, "dynamic")
    qemu_io(base, "vpc", "write -P 0x61 0 64k")
    create(conn, child, "differencing", size=None, ParentPath=str(base))
    moved = root / "moved-base.vhd"
    shutil.copy(base, moved)
    succeed(conn, "SetParentVirtualHardDisk", ChildPath=str(child), ParentPath=str(moved), LeafPath=None, IgnoreIDMismatch=False)
    assert vhdiinfo(child)["Parent filename"] == "moved-base.vhd"
    assert read_with_libvhdi(child, tmp_path / "mnt1", 0, 64 * 1024) == b"\x61" * (64 * 1024)
    # SetVirtualHardDiskSettingData changes the parent the same way...
    succeed(conn, "SetVirtualHardDiskSettingData", VirtualDiskSettingData=vhdsd(child, "differencing", size=None, ParentPath=str(base)))
    assert vhdiinfo(child)["Parent filename"] == "base.vhd"
    # ...but not the size, which is ResizeVirtualHardDisk's job.
    message = fail(conn, "SetVirtualHardDiskSettingData", 32773, VirtualDiskSettingData=vhdsd(child, "differencing", size=8 * MIB, ParentPath=str(base)))
    assert message.startswith("MaxInternalSize")


def test_jobs_are_storage_jobs_not_concrete_jobs(conn, root: Path) -> None:
    create(conn, root / "job.vhd", "fixed", size=MIB)
    job, _ = invoke(conn, "GetVirtualHardDiskSettingData", Path=str(root / "job.vhd"))
    storage_jobs = {j["InstanceID"] for j in conn.EnumerateInstances("Msvm_StorageJob")}
    concrete_jobs = {j["InstanceID"] for j in conn.EnumerateInstances("Msvm_ConcreteJob")}
    assert job["InstanceID"] in storage_jobs and job["InstanceID"] not in concrete_jobs
