"""Reading a VHD's settings and checking it is sound, without changing it.

Validation reports every finding it can rather than stopping at the first:
both footers and their checksums, the header's checksum, each allocation
table entry (inside the file, on a sector, not overlapping the metadata or
another block), the file size of a fixed disk, and for a differencing disk
that its parent can be found, has the unique id recorded for it, and is
itself sound (a parent outside the storage roots is refused, not read).
The parent's time stamp is not compared: copying a parent
changes it, and Hyper-V does not insist on it either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from cimprovider.backends.images.errors import CorruptImageError, ImageError, ImageNotFoundError, PathOutsideStorageError
from cimprovider.backends.images.storage_roots import StorageRoots
from cimprovider.backends.images.vhd_chain import MAX_CHAIN_DEPTH, open_parent
from cimprovider.backends.images.vhd_file import VhdFile
from cimprovider.backends.images.vhd_format import (
    FOOTER_SIZE,
    HEADER_SIZE,
    SECTOR,
    UNUSED_BLOCK,
    DiskType,
    Footer,
    VhdFormatError,
)


@dataclass(frozen=True)
class VhdDescription:
    disk_type: DiskType
    size: int
    block_size: int
    unique_id: UUID
    parent_path: Path | None
    parent_unique_id: UUID | None
    file_size: int
    allocated_blocks: int
    fragmentation_percent: int | None


def describe(path: Path, roots: StorageRoots) -> VhdDescription:
    """Without taking QEMU's locks: describing a disk a VM is using is
    allowed (Hyper-V's Get-VHD does it); the snapshot read may be stale."""
    with VhdFile.open(roots.confine(path), lock=False) as image:
        parent_path = parent_id = None
        if image.disk_type is DiskType.DIFFERENCING:
            parent_id = image.dynamic_header().parent_unique_id
            try:
                with open_parent(image, roots, lock=False) as parent:
                    parent_path = parent.path
            except (ImageNotFoundError, CorruptImageError):
                parent_path = None
        allocated = [entry for entry in image.table if entry != UNUSED_BLOCK]
        return VhdDescription(
            disk_type=image.disk_type,
            size=image.size,
            block_size=image.header.block_size if image.header else 0,
            unique_id=image.footer.unique_id,
            parent_path=parent_path,
            parent_unique_id=parent_id,
            file_size=image.file_size,
            allocated_blocks=len(allocated),
            fragmentation_percent=_fragmentation(image) if image.header else 0,
        )


def validate(path: Path, roots: StorageRoots, depth: int = 0) -> list[str]:
    """Every problem found in `path` and its parents; empty when sound.
    A parent outside `roots` is not a finding but a refusal
    (PathOutsideStorageError): nothing is said about a file not read."""
    path = roots.confine(path)
    if not path.is_file():
        raise ImageNotFoundError(f"{path}: no such file")
    problems = _footer_problems(path)
    try:
        image = VhdFile.open(path, lock=False)
    except CorruptImageError as error:
        return _unique(problems + error.problems)
    with image:
        if image.header is not None:
            problems += _table_problems(image)
            if image.disk_type is DiskType.DIFFERENCING:
                problems += _parent_problems(image, roots, depth)
    return _unique(problems)


def _footer_problems(path: Path) -> list[str]:
    """The footer copy at offset 0 must match the trailing one."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size < FOOTER_SIZE:
            return []
        trailing = os.pread(file.fileno(), FOOTER_SIZE, size - FOOTER_SIZE)
        leading = os.pread(file.fileno(), FOOTER_SIZE, 0)
    problems = []
    try:
        footer = Footer.unpack(trailing)
    except VhdFormatError as error:
        problems.append(f"trailing {error}")
        footer = None
    if footer is not None and footer.disk_type is not DiskType.FIXED and leading != trailing:
        try:
            Footer.unpack(leading)
            problems.append("footer copy at offset 0 differs from the trailing footer")
        except VhdFormatError as error:
            problems.append(f"footer copy at offset 0: {error}")
    return problems


def _table_problems(image: VhdFile) -> list[str]:
    header = image.dynamic_header()
    span = header.bitmap_size + header.block_size
    limit = image.file_size - FOOTER_SIZE
    problems = []
    taken = [(0, FOOTER_SIZE + HEADER_SIZE, "header"), (header.table_offset, header.table_offset + header.table_size, "table")]
    for locator in header.locators:
        if locator.used:
            taken.append((locator.data_offset, locator.data_offset + locator.data_length, "parent locator"))
            if locator.data_offset + locator.data_length > limit:
                problems.append(f"parent locator data at {locator.data_offset} runs past the end of the data")
    for index, entry in enumerate(image.table):
        if entry == UNUSED_BLOCK:
            continue
        start = entry * SECTOR
        if start + span > limit:
            problems.append(f"block {index} at {start} runs past the end of the data ({limit})")
            continue
        taken.append((start, start + span, f"block {index}"))
    ordered = sorted((item for item in taken if item[1] > item[0]), key=lambda item: item[0])
    for (_, end, name), (start, _, other) in zip(ordered, ordered[1:]):
        if start < end:
            problems.append(f"{other} overlaps {name}")
    return problems


def _parent_problems(image: VhdFile, roots: StorageRoots, depth: int) -> list[str]:
    if depth >= MAX_CHAIN_DEPTH:
        return [f"parent chain deeper than {MAX_CHAIN_DEPTH}"]
    try:
        parent = open_parent(image, roots, lock=False)
    except PathOutsideStorageError:
        raise
    except ImageNotFoundError as error:
        return [f"parent: {error}"]
    except CorruptImageError as error:
        return [f"parent: {'; '.join(error.problems)}"]
    except ImageError as error:
        return [f"parent: {error}"]
    with parent:
        parent_path = parent.path
    return [f"parent {parent_path}: {problem}" for problem in validate(parent_path, roots, depth + 1)]


def _fragmentation(image: VhdFile) -> int:
    """Share of allocated blocks (in guest order) not right after the previous one."""
    header = image.dynamic_header()
    span = header.bitmap_size + header.block_size
    offsets = [entry * SECTOR for entry in image.table if entry != UNUSED_BLOCK]
    if len(offsets) < 2:
        return 0
    jumps = sum(1 for before, after in zip(offsets, offsets[1:]) if after != before + span)
    return round(100 * jumps / (len(offsets) - 1))


def _unique(problems: list[str]) -> list[str]:
    return list(dict.fromkeys(problems))

