"""Changing a VHD's size and reclaiming its empty blocks.

- Expanding works in place: a fixed disk grows its data and moves its footer;
  a dynamic or differencing disk grows its allocation table (moved to the
  end of the file when the padding after it is too small) and its footer.
- Shrinking (fixed and dynamic) is allowed only when nothing but zeros lies
  past the new end, so no data is lost; it and compaction rewrite a dynamic
  disk into a new file beside it, renamed over the old one at the end, so a
  crash leaves the old disk intact.
- Compaction drops dynamic blocks that hold only zeros, and differencing
  blocks that hold no sector at all (a zero sector in a differencing disk
  hides its parent's data, so it is kept).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from cimprovider.backends.images.allocation import allocate
from cimprovider.backends.images.errors import ImageError, InvalidImageParameterError
from cimprovider.backends.images.partial_files import partial_name
from cimprovider.backends.images.qemu_img import ProgressCallback
from cimprovider.backends.images.vhd_file import VhdFile
from cimprovider.backends.images.vhd_format import (
    FOOTER_SIZE,
    HEADER_SIZE,
    SECTOR,
    UNUSED_BLOCK,
    DiskType,
    ParentLocator,
    pack_table,
    round_up,
)

_CHUNK = 1024 * 1024
BlockFilter = Callable[[bytes, bytes], bool]


def resize(path: Path, size: int, progress: ProgressCallback | None = None) -> None:
    if size <= 0 or size % SECTOR:
        raise InvalidImageParameterError("max_internal_size", f"{size} is not a positive multiple of {SECTOR} bytes")
    with VhdFile.open(Path(path), writable=True) as image:
        if size > image.size:
            _expand(image, size)
        elif size < image.size:
            if image.disk_type is DiskType.DIFFERENCING:
                raise InvalidImageParameterError("max_internal_size", "a differencing disk cannot be shrunk")
            needed = minimum_size(image)
            if size < needed:
                raise InvalidImageParameterError(
                    "max_internal_size", f"{path} holds data up to byte {needed}; it cannot shrink to {size}"
                )
            if image.header is None:
                image.footer = image.footer.resized(size)
                image.write_structures()
            else:
                _rewrite(image, size, keep=lambda bitmap, data: True, progress=progress)
    if progress is not None:
        progress(100)


def compact(path: Path, progress: ProgressCallback | None = None) -> None:
    with VhdFile.open(Path(path), writable=True) as image:
        if image.disk_type is DiskType.FIXED:
            raise InvalidImageParameterError("path", f"{path} is a fixed disk; only dynamic and differencing disks compact")
        if image.disk_type is DiskType.DIFFERENCING:
            _rewrite(image, image.size, keep=lambda bitmap, data: any(bitmap), progress=progress)
        else:
            _rewrite(image, image.size, keep=lambda bitmap, data: any(data), progress=progress)
    if progress is not None:
        progress(100)


def minimum_size(image: VhdFile) -> int:
    """The smallest size that keeps every non-zero byte the file holds."""
    if image.disk_type is DiskType.DIFFERENCING:
        return image.size
    if image.header is None:
        end = image.size
        while end > 0:
            start = max(0, end - _CHUNK)
            chunk = os.pread(image.fd, end - start, start)
            stripped = chunk.rstrip(b"\0")
            if stripped:
                return round_up(start + len(stripped), SECTOR)
            end = start
        return 0
    header = image.header
    for index in range(len(image.table) - 1, -1, -1):
        offset = image.block_offset(index)
        if offset is None:
            continue
        data = os.pread(image.fd, header.block_size, offset + header.bitmap_size).rstrip(b"\0")
        if data:
            return min(image.size, round_up(index * header.block_size + len(data), SECTOR))
    return 0


def _expand(image: VhdFile, size: int) -> None:
    old_size = image.size
    if image.header is None:
        # The new footer first, then the old one (now data) zeroed: killed
        # in between, the file still ends in a valid footer. In between, the
        # data is reserved (a fixed disk takes its whole size, as on
        # Hyper-V); when it does not fit, the file is cut back to its old
        # footer, which is still whole.
        old_footer = image.footer
        image.footer = old_footer.resized(size)
        try:
            image.write_structures()
            allocate(image.fd, 0, size, image.path)
        except (ImageError, OSError):
            os.ftruncate(image.fd, old_size + FOOTER_SIZE)
            image.footer = old_footer
            raise
        os.pwrite(image.fd, bytes(FOOTER_SIZE), old_size)
        os.fsync(image.fd)
        return
    image.footer = image.footer.resized(size)
    header = image.header
    entries = -(-size // header.block_size)
    image.table = image.table + [UNUSED_BLOCK] * (entries - len(image.table))
    grown = replace(header, max_table_entries=entries)
    if grown.table_size > header.table_size:
        # No room to grow in place: the table moves to the end of the data
        # (the specification lets it live anywhere the header points).
        grown = replace(grown, table_offset=image.end_of_data())
    image.header = grown
    image.write_structures()


def _rewrite(image: VhdFile, size: int, keep: BlockFilter, progress: ProgressCallback | None) -> None:
    header = image.dynamic_header()
    entries = -(-size // header.block_size)
    table_offset = FOOTER_SIZE + HEADER_SIZE
    cursor = table_offset + round_up(entries * 4, SECTOR)
    locators, locator_data = [], []
    for locator in header.locators:
        if not locator.used:
            locators.append(locator)
            continue
        space = round_up(max(locator.data_space, locator.data_length, SECTOR), SECTOR)
        locator_data.append((cursor, os.pread(image.fd, locator.data_length, locator.data_offset).ljust(space, b"\0")))
        locators.append(ParentLocator(locator.platform_code, space, locator.data_length, cursor))
        cursor += space
    new_header = replace(header, table_offset=table_offset, max_table_entries=entries, locators=tuple(locators))
    table = [UNUSED_BLOCK] * entries
    temporary = partial_name(image.path)
    fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        for offset, data in locator_data:
            os.pwrite(fd, data, offset)
        for index in range(min(entries, len(image.table))):
            source = image.block_offset(index)
            if source is not None:
                bitmap = os.pread(image.fd, header.bitmap_size, source)
                data = os.pread(image.fd, header.block_size, source + header.bitmap_size)
                if keep(bitmap, data):
                    os.pwrite(fd, bitmap + data, cursor)
                    table[index] = cursor // SECTOR
                    cursor += header.bitmap_size + header.block_size
            if progress is not None:
                progress(min(99, (index + 1) * 100 // max(1, entries)))
        footer = image.footer.resized(size) if size != image.size else image.footer
        os.pwrite(fd, footer.pack() + new_header.pack() + pack_table(table, new_header.table_size), 0)
        os.pwrite(fd, footer.pack(), cursor)
        os.ftruncate(fd, cursor + FOOTER_SIZE)
        os.fsync(fd)
        os.replace(temporary, image.path)
    except BaseException as error:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise ImageError(f"{image.path}: rewrite failed: {error}") from error
        raise
    os.close(fd)
