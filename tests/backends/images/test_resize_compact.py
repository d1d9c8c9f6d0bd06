"""Resizing VHD (native) and VHDX (convert round trip), shrinking only where
the data fits, and compacting dynamic VHDs — checked by qemu-img and qemu-io."""

from __future__ import annotations

from pathlib import Path

import pytest

from cimprovider.backends.images import ImageInUseError, ImageService, InvalidImageParameterError, StorageRoots

from .conftest import MIB, differencing, settings
from .readers import qemu_check, qemu_info, qemu_io


@pytest.mark.parametrize("kind", ["fixed", "dynamic"])
def test_vhd_expands_and_keeps_its_data(service: ImageService, root: Path, kind: str) -> None:
    disk = root / "d.vhd"
    service.create(settings(disk, kind, size=2 * MIB))
    qemu_io(disk, "vpc", "write -P 0x44 0 64k", "write -P 0x55 2032k 16k")
    progress: list[int] = []
    service.resize(disk, 5 * MIB + 512, progress.append)
    assert progress[-1] == 100
    assert qemu_info(disk, "vpc")["virtual-size"] == 5 * MIB + 512
    qemu_io(disk, "vpc", "read -P 0x44 0 64k", "read -P 0x55 2032k 16k", "read -P 0 2M 3M")
    qemu_io(disk, "vpc", "write -P 0x66 4M 64k", "read -P 0x66 4M 64k")
    service.validate(disk)


def test_dynamic_vhd_grows_past_its_table_padding(service: ImageService, root: Path) -> None:
    """128 entries fit the first table sector; 300 MiB needs 150, so the
    table moves. Nothing is written there, so the file stays small."""
    disk = root / "d.vhd"
    service.create(settings(disk, "dynamic", size=2 * MIB))
    qemu_io(disk, "vpc", "write -P 0x12 1M 4k")
    service.resize(disk, 300 * MIB)
    assert qemu_info(disk, "vpc")["virtual-size"] == 300 * MIB
    qemu_io(disk, "vpc", "read -P 0x12 1M 4k", "write -P 0x34 299M 4k", "read -P 0x34 299M 4k", "read -P 0x12 1M 4k")
    assert disk.stat().st_size < 8 * MIB
    service.validate(disk)


@pytest.mark.parametrize("kind", ["fixed", "dynamic"])
def test_vhd_shrinks_only_where_the_data_fits(service: ImageService, root: Path, kind: str) -> None:
    disk = root / "d.vhd"
    service.create(settings(disk, kind, size=6 * MIB))
    qemu_io(disk, "vpc", "write -P 0x71 0 1M", "write -P 0x72 3M 4k")
    with pytest.raises(InvalidImageParameterError, match="holds data up to byte"):
        service.resize(disk, 3 * MIB)
    assert service.get_state(disk).min_internal_size == 3 * MIB + 4096
    service.resize(disk, 4 * MIB)
    assert qemu_info(disk, "vpc")["virtual-size"] == 4 * MIB
    qemu_io(disk, "vpc", "read -P 0x71 0 1M", "read -P 0x72 3M 4k")
    service.validate(disk)


@pytest.mark.parametrize("kind", ["fixed", "dynamic"])
def test_vhdx_resizes_through_a_convert_round_trip(service: ImageService, root: Path, kind: str) -> None:
    disk = root / "d.vhdx"
    service.create(settings(disk, kind, "vhdx", size=2 * MIB, block_size=MIB))
    qemu_io(disk, "vhdx", "write -P 0x19 1M 8k")
    service.resize(disk, 3 * MIB)
    after = service.get_settings(disk)
    assert (after.max_internal_size, after.type.value, after.block_size) == (3 * MIB, kind, MIB)
    qemu_check(disk, "vhdx")
    qemu_io(disk, "vhdx", "read -P 0x19 1M 8k", "read -P 0 2M 1M")
    with pytest.raises(InvalidImageParameterError, match="holds data"):
        service.resize(disk, MIB)
    service.resize(disk, 2 * MIB)
    assert qemu_info(disk, "vhdx")["virtual-size"] == 2 * MIB
    assert sorted(p.name for p in root.iterdir()) == ["d.vhdx"]  # no scratch files left


def test_compaction_drops_zero_blocks(service: ImageService, root: Path) -> None:
    disk = root / "d.vhd"
    service.create(settings(disk, "dynamic", size=8 * MIB))
    qemu_io(disk, "vpc", "write -P 0x01 0 4k", "write -P 0x02 2M 4k", "write -P 0x03 6M 4k")
    qemu_io(disk, "vpc", "write -z 2M 4k")  # the second block now holds only zeros
    before = disk.stat().st_size
    service.compact(disk)
    assert disk.stat().st_size == before - (2 * MIB + 512)
    qemu_io(disk, "vpc", "read -P 0x01 0 4k", "read -P 0 2M 2M", "read -P 0x03 6M 4k")
    service.validate(disk)


def test_compaction_of_a_differencing_disk_keeps_written_zeros(service: ImageService, root: Path) -> None:
    from cimprovider.backends.images import VhdChain

    service.create(settings(root / "base.vhd", "dynamic"))
    qemu_io(root / "base.vhd", "vpc", "write -P 0x0f 0 4M")
    service.create(differencing(root / "child.vhd", root / "base.vhd"))
    with VhdChain.open(root / "child.vhd", service.roots, writable={0}) as chain:
        chain.write(0, bytes(4096))  # zeros that hide the parent's data
    service.compact(root / "child.vhd")
    with VhdChain.open(root / "child.vhd", service.roots) as chain:
        assert chain.read(0, 8192) == bytes(4096) + b"\x0f" * 4096


def test_fixed_disks_do_not_compact(service: ImageService, root: Path) -> None:
    service.create(settings(root / "f.vhd", "fixed"))
    with pytest.raises(InvalidImageParameterError, match="fixed"):
        service.compact(root / "f.vhd")


def test_a_vhdx_attached_to_a_running_vm_only_grows(root: Path) -> None:
    service = ImageService(StorageRoots([root]), attached=lambda path: path.name.startswith("busy"))
    service.create(settings(root / "busy.vhdx", "dynamic", "vhdx"))
    with pytest.raises(ImageInUseError):
        service.compact(root / "busy.vhdx")
    with pytest.raises(ImageInUseError):
        service.resize(root / "busy.vhdx", 2 * MIB)
    service.resize(root / "busy.vhdx", 6 * MIB)
    assert qemu_info(root / "busy.vhdx", "vhdx")["virtual-size"] == 6 * MIB
    assert service.get_state(root / "busy.vhdx").in_use


@pytest.mark.parametrize("kind", ["fixed", "dynamic"])
def test_a_vhd_attached_to_a_running_vm_is_not_resized(root: Path, kind: str) -> None:
    """Hyper-V resizes only a VHDX online."""
    service = ImageService(StorageRoots([root]), attached=lambda path: path.name == "busy.vhd")
    service.create(settings(root / "busy.vhd", kind))
    for size in (2 * MIB, 6 * MIB):
        with pytest.raises(ImageInUseError, match="a VHD cannot be resized while in use"):
            service.resize(root / "busy.vhd", size)
    assert qemu_info(root / "busy.vhd", "vpc")["virtual-size"] == 4 * MIB
