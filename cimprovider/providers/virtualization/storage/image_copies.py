"""Standalone copies of a VM's disks, for export, import and cloning.

A copy is made by conversion to the source's own format, so a differencing
chain (a VM that has snapshots runs on one) comes out flattened into one
dynamic disk that needs none of the source's files; a fixed disk stays
fixed. The names drop the `_<GUID>` that snapshots add to their
differencing disks, so `system_<GUID>.avhd` is copied as `system.vhd`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from cimprovider.backends.images import ImageService
from cimprovider.schemas.images import VirtualHardDiskFormat, VirtualHardDiskSettings, VirtualHardDiskType

Progress = Callable[[int], None]
_SNAPSHOT_SUFFIX = re.compile(r"_[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
_EXTENSIONS = {VirtualHardDiskFormat.VHD: ".vhd", VirtualHardDiskFormat.VHDX: ".vhdx"}


def copy_image(images: ImageService, source: Path, destination: Path, progress: Progress | None = None) -> Path:
    """Copy `source` (VHD or VHDX, any type) to `destination` (a new file
    inside the storage roots) as one standalone disk."""
    found = images.get_settings(source)
    kind = VirtualHardDiskType.FIXED if found.type is VirtualHardDiskType.FIXED else VirtualHardDiskType.DYNAMIC
    target = VirtualHardDiskSettings(
        type=kind, format=found.format, path=destination, max_internal_size=found.max_internal_size)  # fmt: skip
    return images.convert(source, target, progress).path


def copy_name(images: ImageService, source: Path, taken: set[str], tag: str = "") -> str:
    """The file name a copy of `source` gets in a folder where `taken`
    names are used (compared case-insensitively, as Windows would);
    `tag` (a snapshot's `_<GUID>`) is appended to the stem."""
    found = images.get_settings(source)
    stem = (_SNAPSHOT_SUFFIX.sub("", source.stem) or "disk") + tag
    extension = _EXTENSIONS.get(found.format, source.suffix)
    name, number = f"{stem}{extension}", 1
    while name.lower() in taken:
        number += 1
        name = f"{stem} ({number}){extension}"
    taken.add(name.lower())
    return name


def total_size(images: ImageService, paths: Iterable[Path]) -> int:
    return sum(images.get_settings(path).max_internal_size for path in paths)


def scaled(progress: Progress | None, done: int, part: int, total: int, ceiling: int = 99) -> Progress | None:
    """A callback for one part of a longer piece of work: maps the part's
    0–100 onto its share of the whole (by size), never reaching 100 before
    the whole is done."""
    if progress is None:
        return None
    whole = max(total, 1)

    def report(percent: int) -> None:
        progress(min(ceiling, (done + part * percent // 100) * 100 // whole))

    return report
