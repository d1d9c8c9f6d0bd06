"""A fixed disk takes its whole size on the host when it is made, converted
to or grown, as on Hyper-V; when the file system cannot hold it the
operation fails saying so, and leaves no file (or the old disk) behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cimprovider.backends.images import ImageError, ImageService, StorageRoots
from tests.support.small_filesystem import allocated, small_filesystem

from .conftest import MIB, settings
from .readers import qemu_check, qemu_info, qemu_io


@pytest.fixture
def small(root: Path) -> Iterator[Path]:
    with small_filesystem(root / "small", 20) as folder:
        yield folder


@pytest.mark.parametrize(("fmt", "qemu_fmt"), [("vhd", "vpc"), ("vhdx", "vhdx")])
def test_a_fixed_disk_is_allocated_whole(service: ImageService, root: Path, fmt: str, qemu_fmt: str) -> None:
    disk = root / f"fixed.{fmt}"
    service.create(settings(disk, "fixed", fmt, size=32 * MIB))
    assert allocated(disk) >= 32 * MIB
    qemu_io(disk, qemu_fmt, "read -P 0 0 32M")


@pytest.mark.parametrize(("fmt", "qemu_fmt"), [("vhd", "vpc"), ("vhdx", "vhdx")])
def test_a_conversion_to_fixed_is_allocated_whole(service: ImageService, root: Path, fmt: str, qemu_fmt: str) -> None:
    source = root / "source.vhd"
    service.create(settings(source, "dynamic", size=16 * MIB))
    qemu_io(source, "vpc", "write -P 0x3c 1M 64k")
    service.convert(source, settings(root / f"copy.{fmt}", "fixed", fmt, size=16 * MIB))
    assert allocated(root / f"copy.{fmt}") >= 16 * MIB
    qemu_io(root / f"copy.{fmt}", qemu_fmt, "read -P 0x3c 1M 64k", "read -P 0 2M 14M")


@pytest.mark.parametrize(("fmt", "qemu_fmt"), [("vhd", "vpc"), ("vhdx", "vhdx")])
def test_a_grown_fixed_disk_is_allocated_whole(service: ImageService, root: Path, fmt: str, qemu_fmt: str) -> None:
    disk = root / f"grow.{fmt}"
    service.create(settings(disk, "fixed", fmt, size=4 * MIB))
    qemu_io(disk, qemu_fmt, "write -P 0x71 0 64k")
    service.resize(disk, 24 * MIB)
    assert qemu_info(disk, qemu_fmt)["virtual-size"] == 24 * MIB
    assert allocated(disk) >= 24 * MIB
    qemu_io(disk, qemu_fmt, "read -P 0x71 0 64k", "read -P 0 1M 23M")


@pytest.mark.parametrize("fmt", ["vhd", "vhdx"])
def test_a_fixed_disk_larger_than_the_free_space_is_refused(service: ImageService, small: Path, fmt: str) -> None:
    with pytest.raises(ImageError, match=r"not enough space for a fixed disk.* bytes free") as caught:
        service.create(settings(small / f"big.{fmt}", "fixed", fmt, size=64 * MIB))
    assert str(small / f"big.{fmt}") in str(caught.value)
    assert list(small.iterdir()) == []


def test_a_conversion_to_a_fixed_disk_that_does_not_fit_is_refused(service: ImageService, root: Path, small: Path) -> None:
    source = root / "source.vhd"
    service.create(settings(source, "dynamic", size=64 * MIB))
    with pytest.raises(ImageError, match="not enough space for a fixed disk"):
        service.convert(source, settings(small / "copy.vhdx", "fixed", "vhdx", size=64 * MIB))
    assert list(small.iterdir()) == []


@pytest.mark.parametrize(("fmt", "qemu_fmt"), [("vhd", "vpc"), ("vhdx", "vhdx")])
def test_a_fixed_disk_that_cannot_grow_is_left_as_it_was(root: Path, small: Path, fmt: str, qemu_fmt: str) -> None:
    service = ImageService(StorageRoots([root]))
    disk = small / f"grow.{fmt}"
    service.create(settings(disk, "fixed", fmt, size=4 * MIB))
    qemu_io(disk, qemu_fmt, "write -P 0x2d 4032k 64k")
    length = disk.stat().st_size
    with pytest.raises(ImageError, match="not enough space for a fixed disk"):
        service.resize(disk, 64 * MIB)
    assert disk.stat().st_size == length
    assert qemu_info(disk, qemu_fmt)["virtual-size"] == 4 * MIB
    qemu_io(disk, qemu_fmt, "read -P 0x2d 4032k 64k")
    if fmt == "vhdx":
        qemu_check(disk, "vhdx")
    service.validate(disk)
    assert sorted(p.name for p in small.iterdir()) == [disk.name]
