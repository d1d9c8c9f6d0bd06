"""Compacting a dynamic VHDX (qemu-img convert into a copy renamed over
it): the copy keeps what a guest sees and the disk's physical sector size,
and a disk another process writes is left alone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cimprovider.backends.images import ImageInUseError, ImageService
from cimprovider.backends.images.vhdx import read_parameters, set_physical_sector_size

from .conftest import MIB, settings
from .readers import qemu_check, qemu_compare, qemu_io
from tests.support.waiting import wait_until


def test_a_512e_vhdx_compacts_and_keeps_its_4k_physical_sectors(service: ImageService, root: Path, tmp_path: Path) -> None:
    disk = root / "512e.vhdx"
    service.create(settings(disk, "dynamic", "vhdx", size=32 * MIB))
    set_physical_sector_size(disk, 4096)  # as Hyper-V makes them: 512-byte logical, 4 KiB physical sectors
    qemu_check(disk, "vhdx")
    qemu_io(disk, "vhdx", "write -P 0x21 0 4M", "write -P 0x22 8M 8M", "write -P 0 8M 8M", "write -P 0x23 24M 1M")
    as_written = tmp_path / "as-written.vhdx"
    shutil.copyfile(disk, as_written)
    progress: list[int] = []
    service.compact(disk, progress.append)
    assert progress[-1] == 100
    assert disk.stat().st_size <= as_written.stat().st_size - 8 * MIB
    assert qemu_compare(as_written, "vhdx", disk, "vhdx")
    qemu_check(disk, "vhdx")
    after, before = read_parameters(disk), read_parameters(as_written)
    assert (after.physical_sector_size, after.logical_sector_size, after.block_size) == (4096, 512, before.block_size)
    assert not list(root.glob(".*.partial")), "the copy was left behind"


def test_a_vhdx_another_process_writes_is_not_compacted(service: ImageService, root: Path) -> None:
    disk = root / "held.vhdx"
    service.create(settings(disk, "dynamic", "vhdx", size=8 * MIB))
    qemu_io(disk, "vhdx", "write -P 0x31 0 1M", "write -P 0 1M 2M")
    size = disk.stat().st_size
    holder = subprocess.Popen(["qemu-io", "-f", "vhdx", str(disk)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: service.get_state(disk).in_use, "qemu-io holding the disk")
        with pytest.raises(ImageInUseError):
            service.compact(disk)
    finally:
        holder.communicate(b"quit\n", timeout=30)
    assert disk.stat().st_size == size
    assert not list(root.glob(".*.partial"))
