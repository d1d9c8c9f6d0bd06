"""A fixed disk takes its whole size on the host, as on Hyper-V: made,
converted to or grown, it is allocated; one that does not fit its file
system is refused (32768, saying how much it needs and how much is free)
and leaves no file behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pywbem import Uint64

from tests.backends.images.readers import qemu_info
from tests.integration.storage.vhd_client import MIB, create, fail, succeed, vhdsd
from tests.support.small_filesystem import allocated, small_filesystem


@pytest.fixture
def small(root: Path) -> Iterator[Path]:
    """20 MiB of space inside the storage root."""
    with small_filesystem(root / "small", 20) as folder:
        yield folder


@pytest.mark.parametrize(("fmt", "qemu_fmt"), [("vhd", "vpc"), ("vhdx", "vhdx")])
def test_fixed_disks_are_allocated_when_made_converted_and_grown(conn, root: Path, fmt: str, qemu_fmt: str) -> None:
    disk = root / f"fixed.{fmt}"
    create(conn, disk, "fixed", fmt, size=16 * MIB)
    assert allocated(disk) >= 16 * MIB
    succeed(conn, "ResizeVirtualHardDisk", Path=str(disk), MaxInternalSize=Uint64(24 * MIB))
    assert qemu_info(disk, qemu_fmt)["virtual-size"] == 24 * MIB
    assert allocated(disk) >= 24 * MIB
    dynamic = root / f"dynamic.{fmt}"
    create(conn, dynamic, "dynamic", fmt, size=16 * MIB)
    copy = root / f"copy.{fmt}"
    succeed(conn, "ConvertVirtualHardDisk", SourcePath=str(dynamic), VirtualDiskSettingData=vhdsd(copy, "fixed", fmt, size=None))
    assert allocated(copy) >= 16 * MIB


@pytest.mark.parametrize("fmt", ["vhd", "vhdx"])
def test_a_fixed_disk_larger_than_the_free_space_is_refused(conn, small: Path, fmt: str) -> None:
    disk = small / f"big.{fmt}"
    message = fail(conn, "CreateVirtualHardDisk", 32768, VirtualDiskSettingData=vhdsd(disk, "fixed", fmt, size=64 * MIB))
    assert str(disk) in message and "not enough space" in message and "bytes free" in message
    assert list(small.iterdir()) == []


def test_a_fixed_disk_that_does_not_fit_is_not_grown(conn, small: Path) -> None:
    disk = small / "grow.vhd"
    create(conn, disk, "fixed", size=4 * MIB)
    length = disk.stat().st_size
    assert "not enough space" in fail(conn, "ResizeVirtualHardDisk", 32768, Path=str(disk), MaxInternalSize=Uint64(64 * MIB))
    assert disk.stat().st_size == length and qemu_info(disk, "vpc")["virtual-size"] == 4 * MIB
    succeed(conn, "ValidateVirtualHardDisk", Path=str(disk))
