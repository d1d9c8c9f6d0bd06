"""Creating fixed and dynamic VHD and VHDX and converting between VHD, VHDX,
qcow2 and raw, each result read back by qemu-img and qemu-io."""

from __future__ import annotations

from pathlib import Path

import pytest

from cimprovider.backends.images import ImageService, InvalidImageParameterError, PathOutsideStorageError
from cimprovider.schemas.images import VirtualHardDiskType

from .conftest import MIB, settings
from .readers import qemu_check, qemu_compare, qemu_info, qemu_io


@pytest.mark.parametrize("kind", ["fixed", "dynamic"])
def test_vhd_has_the_exact_size_asked_for(service: ImageService, root: Path, kind: str) -> None:
    # 3 MiB + 5 sectors is not a CHS size: force_size must keep it exact.
    size = 3 * MIB + 5 * 512
    made = service.create(settings(root / "d.vhd", kind, size=size))
    assert made.type is VirtualHardDiskType(kind) and made.max_internal_size == size
    info = qemu_info(root / "d.vhd", "vpc")
    assert info["virtual-size"] == size
    qemu_io(root / "d.vhd", "vpc", "write -P 0x5a 1M 64k", "read -P 0x5a 1M 64k")


@pytest.mark.parametrize("kind", ["fixed", "dynamic"])
def test_vhdx_is_sound_for_qemu(service: ImageService, root: Path, kind: str) -> None:
    made = service.create(settings(root / "d.vhdx", kind, "vhdx", size=2 * MIB, block_size=MIB))
    assert (made.type.value, made.block_size) == (kind, MIB)
    assert qemu_info(root / "d.vhdx", "vhdx")["virtual-size"] == 2 * MIB
    qemu_io(root / "d.vhdx", "vhdx", "write -P 0x11 0 4k")
    qemu_check(root / "d.vhdx", "vhdx")


def test_dynamic_vhd_with_small_blocks_is_readable_by_qemu(service: ImageService, root: Path) -> None:
    made = service.create(settings(root / "small.vhd", "dynamic", block_size=512 * 1024))
    assert made.block_size == 512 * 1024
    qemu_io(root / "small.vhd", "vpc", "write -P 0x21 700k 100k", "read -P 0x21 700k 100k", "read -P 0 0 700k")
    assert qemu_info(root / "small.vhd", "vpc")["cluster-size"] == 512 * 1024
    service.validate(root / "small.vhd")


@pytest.mark.parametrize(
    ("target_format", "qemu_format", "kind"),
    [("vhdx", "vhdx", "dynamic"), ("vhd", "vpc", "fixed"), ("qcow2", "qcow2", "dynamic"), ("raw", "raw", "dynamic")],
)
def test_conversion_keeps_content(
    service: ImageService, root: Path, target_format: str, qemu_format: str, kind: str
) -> None:
    service.create(settings(root / "src.vhd", "dynamic"))
    qemu_io(root / "src.vhd", "vpc", "write -P 0x3c 0 64k", "write -P 0xc3 3M 4k")
    target = root / f"out.{target_format}"
    seen: list[int] = []
    made = service.convert(root / "src.vhd", settings(target, kind, target_format), seen.append)
    assert made.format.value == target_format and made.max_internal_size == 4 * MIB
    assert seen[-1] == 100 and seen == sorted(seen)
    assert qemu_compare(root / "src.vhd", "vpc", target, qemu_format)
    qemu_io(target, qemu_format, "read -P 0xc3 3M 4k")


def test_conversion_back_from_vhdx_to_vhd(service: ImageService, root: Path) -> None:
    service.create(settings(root / "a.vhdx", "dynamic", "vhdx", size=2 * MIB))
    qemu_io(root / "a.vhdx", "vhdx", "write -P 0x77 512k 8k")
    service.convert(root / "a.vhdx", settings(root / "b.vhd", "dynamic", size=2 * MIB))
    assert qemu_compare(root / "a.vhdx", "vhdx", root / "b.vhd", "vpc")
    assert qemu_info(root / "b.vhd", "vpc")["virtual-size"] == 2 * MIB


def test_creation_refuses_to_overwrite(service: ImageService, root: Path) -> None:
    (root / "taken.vhd").write_bytes(b"keep me")
    with pytest.raises(InvalidImageParameterError, match="already exists"):
        service.create(settings(root / "taken.vhd", "dynamic"))
    assert (root / "taken.vhd").read_bytes() == b"keep me"


def test_creation_outside_the_roots_is_refused(service: ImageService, root: Path) -> None:
    with pytest.raises(PathOutsideStorageError):
        service.create(settings(root / ".." / "escaped.vhd", "dynamic"))
    assert not (root.parent / "escaped.vhd").exists()


def test_settings_of_qcow2_and_raw_come_from_qemu(service: ImageService, root: Path) -> None:
    service.create(settings(root / "q.qcow2", "dynamic", "qcow2", size=MIB))
    got = service.get_settings(root / "q.qcow2")
    assert (got.format.value, got.max_internal_size) == ("qcow2", MIB)
