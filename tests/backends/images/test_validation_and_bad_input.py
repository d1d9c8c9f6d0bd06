"""Validation, and what a damaged or wrong file gets: truncated files, a
corrupt footer checksum, a missing parent, a file of another type, a disk
that another process holds."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cimprovider.backends.images import (
    CorruptImageError,
    ImageInUseError,
    ImageNotFoundError,
    ImageService,
    InvalidImageParameterError,
)
from cimprovider.backends.images.vhd_file import VhdFile

from .conftest import MIB, differencing, settings
from .readers import qemu_io
from tests.support.waiting import wait_until


def _flip(path: Path, offset_from_end: int) -> None:
    with open(path, "r+b") as file:
        file.seek(-offset_from_end, os.SEEK_END)
        byte = file.read(1)
        file.seek(-offset_from_end, os.SEEK_END)
        file.write(bytes([byte[0] ^ 0xFF]))


def test_sound_disks_validate(service: ImageService, root: Path) -> None:
    service.create(settings(root / "f.vhd", "fixed"))
    service.create(settings(root / "d.vhd", "dynamic"))
    service.create(settings(root / "x.vhdx", "dynamic", "vhdx"))
    service.create(differencing(root / "c.vhd", root / "d.vhd"))
    for name in ("f.vhd", "d.vhd", "x.vhdx", "c.vhd"):
        service.validate(root / name)


def test_corrupt_footer_checksum_is_reported(service: ImageService, root: Path) -> None:
    service.create(settings(root / "d.vhd", "dynamic"))
    _flip(root / "d.vhd", 512 - 40)  # the current size field of the trailing footer
    with pytest.raises(CorruptImageError, match="checksum"):
        service.validate(root / "d.vhd")


def test_corrupt_fixed_footer_makes_the_file_unreadable(service: ImageService, root: Path) -> None:
    service.create(settings(root / "f.vhd", "fixed"))
    _flip(root / "f.vhd", 512 - 10)
    with pytest.raises(CorruptImageError, match="checksum"):
        VhdFile.open(root / "f.vhd")


def test_corrupt_header_checksum_is_reported(service: ImageService, root: Path) -> None:
    service.create(settings(root / "d.vhd", "dynamic"))
    with open(root / "d.vhd", "r+b") as file:
        file.seek(512 + 32)  # block size
        file.write(b"\x00\x10\x00\x00")
    with pytest.raises(CorruptImageError, match="dynamic header: checksum"):
        service.validate(root / "d.vhd")


def test_table_entry_past_the_end_is_reported(service: ImageService, root: Path) -> None:
    service.create(settings(root / "d.vhd", "dynamic"))
    with open(root / "d.vhd", "r+b") as file:
        file.seek(1536)
        file.write((10_000).to_bytes(4, "big"))
    with pytest.raises(CorruptImageError, match="block 0 .* past the end"):
        service.validate(root / "d.vhd")


@pytest.mark.parametrize("keep", [0, 100, 511, 4096])
def test_truncated_files_are_refused(service: ImageService, root: Path, keep: int) -> None:
    service.create(settings(root / "d.vhd", "dynamic"))
    qemu_io(root / "d.vhd", "vpc", "write -P 1 0 64k")
    with open(root / "d.vhd", "r+b") as file:
        file.truncate(keep)
    with pytest.raises((CorruptImageError, InvalidImageParameterError)):
        service.resize(root / "d.vhd", 8 * MIB)
    with pytest.raises((CorruptImageError, InvalidImageParameterError)):
        VhdFile.open(root / "d.vhd")


def test_missing_parent(service: ImageService, root: Path) -> None:
    service.create(settings(root / "base.vhd", "dynamic"))
    service.create(differencing(root / "child.vhd", root / "base.vhd"))
    (root / "base.vhd").unlink()
    with pytest.raises(CorruptImageError, match="parent disk not found"):
        service.validate(root / "child.vhd")
    with pytest.raises(ImageNotFoundError):
        service.merge(root / "child.vhd", root / "base.vhd")


def test_missing_file(service: ImageService, root: Path) -> None:
    for call in (service.get_settings, service.validate, service.compact, service.get_state):
        with pytest.raises(ImageNotFoundError):
            call(root / "none.vhd")


def test_wrong_types_are_refused(service: ImageService, root: Path) -> None:
    (root / "text.vhd").write_bytes(b"not a disk at all\n" * 100)
    with pytest.raises(InvalidImageParameterError, match="not a VHD"):
        service.compact(root / "text.vhd")
    service.create(settings(root / "x.vhdx", "dynamic", "vhdx"))
    with pytest.raises(InvalidImageParameterError, match="differencing disks are made as VHD"):
        service.create(differencing(root / "c.vhd", root / "x.vhdx"))
    service.create(settings(root / "d.vhd", "dynamic"))
    with pytest.raises(InvalidImageParameterError, match="not a differencing disk"):
        service.set_parent(root / "d.vhd", root / "d.vhd")
    with pytest.raises(InvalidImageParameterError, match="not an ancestor"):
        service.merge(root / "d.vhd", root / "x.vhdx")


def test_a_disk_held_by_qemu_is_in_use(service: ImageService, root: Path) -> None:
    service.create(settings(root / "d.vhd", "dynamic"))
    holder = subprocess.Popen(
        ["qemu-io", "-f", "vpc", str(root / "d.vhd")], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: service.get_state(root / "d.vhd").in_use, "qemu-io holding the disk")
        with pytest.raises(ImageInUseError):
            service.compact(root / "d.vhd")
        with pytest.raises(ImageInUseError):
            service.resize(root / "d.vhd", 8 * MIB)
    finally:
        holder.communicate(b"quit\n", timeout=30)
    assert not service.get_state(root / "d.vhd").in_use


def test_qemu_is_kept_out_while_we_write(service: ImageService, root: Path) -> None:
    service.create(settings(root / "d.vhd", "dynamic"))
    with VhdFile.open(root / "d.vhd", writable=True):
        with pytest.raises(ImageInUseError, match="lock"):
            service.convert(root / "d.vhd", settings(root / "copy.qcow2", "dynamic", "qcow2"))
    assert not (root / "copy.qcow2").exists()
