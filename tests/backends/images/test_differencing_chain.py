"""Differencing VHDs made, written, merged and re-parented by our code, read
back by libvhdi (vhdiinfo, vhdimount) — qemu reads a differencing VHD
without its parent — and, once merged, by qemu-io."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cimprovider.backends.images import (
    CorruptImageError,
    ImageNotFoundError,
    ImageService,
    InvalidImageParameterError,
    StorageRoots,
    VhdChain,
)

from .conftest import MIB, differencing, settings
from .readers import qemu_io, qemu_io_mismatch, read_with_libvhdi, vhdiinfo


def _write(path: Path, offset: int, data: bytes) -> None:
    with VhdChain.open(path, StorageRoots([path.parent]), writable={0}) as chain:
        chain.write(offset, data)


def test_qemu_does_not_read_through_a_differencing_vhd(service: ImageService, root: Path) -> None:
    """Why libvhdi checks our chains: qemu 7.2 ignores the parent."""
    service.create(settings(root / "base.vhd", "dynamic"))
    qemu_io(root / "base.vhd", "vpc", "write -P 0xab 0 64k")
    service.create(differencing(root / "child.vhd", root / "base.vhd"))
    assert qemu_io_mismatch(root / "child.vhd", "vpc", "read -P 0xab 0 64k")


def test_libvhdi_sees_the_parent_we_record(service: ImageService, root: Path) -> None:
    service.create(settings(root / "base.vhd", "dynamic"))
    made = service.create(differencing(root / "child.vhd", root / "base.vhd"))
    assert made.parent_path == root / "base.vhd" and made.max_internal_size == 4 * MIB
    child, base = vhdiinfo(root / "child.vhd"), vhdiinfo(root / "base.vhd")
    assert child["Disk type"] == "Differential"
    assert child["Parent filename"] == "base.vhd"
    assert child["Parent identifier"] == base["Identifier"]
    assert "4194304 bytes" in child["Media size"]


def test_snapshot_write_read_merge(service: ImageService, root: Path, tmp_path: Path) -> None:
    """Base written by qemu-io → child made by us → child written by us →
    chain read by libvhdi → merged → merged base read by qemu-io."""
    base, child = root / "base.vhd", root / "snap.vhd"
    service.create(settings(base, "dynamic"))
    qemu_io(base, "vpc", "write -P 0xab 0 128k")
    service.create(differencing(child, base))
    _write(child, 64 * 1024, b"\xcd" * (128 * 1024))
    _write(child, 3 * MIB + 100, b"\xee" * 1000)  # not sector-aligned

    seen = read_with_libvhdi(child, tmp_path / "mnt1", 0, 4 * MIB)
    assert seen[: 64 * 1024] == b"\xab" * (64 * 1024)
    assert seen[64 * 1024 : 192 * 1024] == b"\xcd" * (128 * 1024)
    assert seen[3 * MIB : 3 * MIB + 1100] == bytes(100) + b"\xee" * 1000
    qemu_io(base, "vpc", "read -P 0xab 64k 64k")  # the parent itself is untouched

    progress: list[int] = []
    assert service.merge(child, base, progress.append) == [child]
    assert progress[-1] == 100 and not child.exists()
    qemu_io(base, "vpc", "read -P 0xab 0 64k", "read -P 0xcd 64k 128k", "read -P 0 3M 100", "read -P 0xee 3145828 1000")
    service.validate(base)


def test_merge_into_the_grandparent(service: ImageService, root: Path, tmp_path: Path) -> None:
    base, middle, top = root / "base.vhd", root / "middle.vhd", root / "top.vhd"
    service.create(settings(base, "fixed"))
    qemu_io(base, "vpc", "write -P 0x01 0 1M")
    service.create(differencing(middle, base))
    _write(middle, 0, b"\x02" * (512 * 1024))
    service.create(differencing(top, middle))
    _write(top, 0, b"\x03" * (256 * 1024))
    chain = read_with_libvhdi(top, tmp_path / "mnt", 0, MIB)
    assert chain == b"\x03" * (256 * 1024) + b"\x02" * (256 * 1024) + b"\x01" * (512 * 1024)

    assert service.merge(top, base) == [top, middle]
    qemu_io(base, "vpc", "read -P 0x03 0 256k", "read -P 0x02 256k 256k", "read -P 0x01 512k 512k")


def test_merge_into_a_differencing_parent_keeps_the_chain(service: ImageService, root: Path, tmp_path: Path) -> None:
    base, middle, top = root / "base.vhd", root / "middle.vhd", root / "top.vhd"
    service.create(settings(base, "dynamic"))
    qemu_io(base, "vpc", "write -P 0x01 0 64k")
    service.create(differencing(middle, base))
    service.create(differencing(top, middle))
    _write(top, 4096, b"\x09" * 4096)
    service.merge(top, middle)
    assert vhdiinfo(middle)["Parent identifier"] == vhdiinfo(base)["Identifier"]
    seen = read_with_libvhdi(middle, tmp_path / "mnt", 0, 16384)
    assert seen == b"\x01" * 4096 + b"\x09" * 4096 + b"\x01" * 8192


def test_merge_refuses_a_disk_outside_the_chain(service: ImageService, root: Path) -> None:
    service.create(settings(root / "base.vhd", "dynamic"))
    service.create(settings(root / "other.vhd", "dynamic"))
    service.create(differencing(root / "child.vhd", root / "base.vhd"))
    with pytest.raises(InvalidImageParameterError, match="not an ancestor"):
        service.merge(root / "child.vhd", root / "other.vhd")
    assert (root / "child.vhd").exists()


def test_set_parent_after_the_parent_was_renamed(service: ImageService, root: Path, tmp_path: Path) -> None:
    service.create(settings(root / "base.vhd", "dynamic"))
    qemu_io(root / "base.vhd", "vpc", "write -P 0x42 0 4k")
    service.create(differencing(root / "child.vhd", root / "base.vhd"))
    # libvhdi looks for the parent by the header's name beside the child, so
    # a rename in place is what it can follow once the header says so.
    new_parent = root / "a-much-longer-name-for-the-parent-disk-than-before.vhd"
    shutil.move(root / "base.vhd", new_parent)
    with pytest.raises(ImageNotFoundError):
        service.get_settings(root / "child.vhd")
    service.set_parent(root / "child.vhd", new_parent)
    assert service.get_settings(root / "child.vhd").parent_path == new_parent
    assert vhdiinfo(root / "child.vhd")["Parent filename"] == new_parent.name
    assert read_with_libvhdi(root / "child.vhd", tmp_path / "mnt", 0, 4096) == b"\x42" * 4096
    service.validate(root / "child.vhd")


def test_set_parent_in_another_folder_is_found_through_the_locators(service: ImageService, root: Path) -> None:
    service.create(settings(root / "base.vhd", "dynamic"))
    service.create(differencing(root / "child.vhd", root / "base.vhd"))
    (root / "parents").mkdir()
    shutil.move(root / "base.vhd", root / "parents" / "base.vhd")
    service.set_parent(root / "child.vhd", root / "parents" / "base.vhd")
    assert service.get_settings(root / "child.vhd").parent_path == root / "parents" / "base.vhd"
    shutil.move(root / "child.vhd", root / "parents" / "child.vhd")  # the relative locator now points beside it
    assert service.get_settings(root / "parents" / "child.vhd").parent_path == root / "parents" / "base.vhd"
    service.validate(root / "parents" / "child.vhd")


def test_set_parent_refuses_another_disk_unless_told(service: ImageService, root: Path) -> None:
    service.create(settings(root / "base.vhd", "dynamic"))
    service.create(settings(root / "other.vhd", "dynamic"))
    service.create(differencing(root / "child.vhd", root / "base.vhd"))
    with pytest.raises(InvalidImageParameterError, match="unique id"):
        service.set_parent(root / "child.vhd", root / "other.vhd")
    service.set_parent(root / "child.vhd", root / "other.vhd", ignore_id_mismatch=True)
    assert vhdiinfo(root / "child.vhd")["Parent identifier"] == vhdiinfo(root / "other.vhd")["Identifier"]


def test_a_replaced_parent_is_detected(service: ImageService, root: Path) -> None:
    service.create(settings(root / "base.vhd", "dynamic"))
    service.create(differencing(root / "child.vhd", root / "base.vhd"))
    (root / "base.vhd").unlink()
    service.create(settings(root / "base.vhd", "dynamic"))  # same name, new unique id
    with pytest.raises(CorruptImageError, match="unique id"):
        service.validate(root / "child.vhd")
    with pytest.raises(CorruptImageError):
        VhdChain.open(root / "child.vhd", service.roots)


def test_differencing_child_can_be_larger_than_its_parent(service: ImageService, root: Path, tmp_path: Path) -> None:
    service.create(settings(root / "base.vhd", "dynamic", size=2 * MIB))
    qemu_io(root / "base.vhd", "vpc", "write -P 0x61 0 2M")
    service.create(differencing(root / "child.vhd", root / "base.vhd"))
    service.resize(root / "child.vhd", 3 * MIB)
    assert vhdiinfo(root / "child.vhd")["Media size"].endswith("(3145728 bytes)")
    # libvhdi fails reads past the parent's end, so the tail is ours to show.
    assert read_with_libvhdi(root / "child.vhd", tmp_path / "mnt", 2 * MIB - 4, 4) == b"\x61" * 4
    with VhdChain.open(root / "child.vhd", service.roots) as chain:
        assert chain.read(2 * MIB - 4, 8) == b"\x61" * 4 + bytes(4)
