"""One VHD file, opened: its footer, header and block allocation table, the
sectors it holds itself, and writing sectors into it (allocating blocks at
the end of the file as the specification lays them out).

A differencing disk holds a sector only where the block's bitmap bit is set;
elsewhere the parent answers (see vhd_chain). A dynamic disk holds every
sector of an allocated block — qemu ignores its bitmap too, and sets every
bit when it allocates, as we do — and reads zeros from unallocated blocks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from cimprovider.backends.images import file_locks
from cimprovider.backends.images.errors import CorruptImageError, ImageNotFoundError
from cimprovider.backends.images.vhd_format import (
    FOOTER_SIZE,
    HEADER_SIZE,
    SECTOR,
    UNUSED_BLOCK,
    DiskType,
    DynamicHeader,
    Footer,
    VhdFormatError,
    pack_table,
    round_up,
    unpack_table,
)

# A run of sectors: (first sector, sector count, bytes) — or None for bytes
# when this disk does not hold them and its parent must answer.
Run = tuple[int, int, bytes | None]


class VhdFile:
    def __init__(self, path: Path, fd: int, footer: Footer, header: DynamicHeader | None, table: list[int]) -> None:
        self.path = path
        self.fd = fd
        self.footer = footer
        self.header = header
        self.table = table

    @classmethod
    def open(cls, path: Path, writable: bool = False, lock: bool = True) -> "VhdFile":
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDWR if writable else os.O_RDONLY)
        except FileNotFoundError:
            raise ImageNotFoundError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise CorruptImageError(path, ["is a directory, not a VHD"]) from None
        try:
            if lock:
                file_locks.acquire(fd, path, file_locks.WRITING if writable else file_locks.READING)
            footer, header, table = _read_structures(fd, path)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, footer, header, table)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "VhdFile":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # --- what the disk is

    @property
    def disk_type(self) -> DiskType:
        return self.footer.disk_type

    @property
    def size(self) -> int:
        return self.footer.current_size

    @property
    def sectors(self) -> int:
        return self.footer.current_size // SECTOR

    @property
    def file_size(self) -> int:
        return os.fstat(self.fd).st_size

    def dynamic_header(self) -> DynamicHeader:
        if self.header is None:
            raise CorruptImageError(self.path, ["a fixed disk has no dynamic header"])
        return self.header

    def block_offset(self, index: int) -> int | None:
        """Byte offset of block `index`'s bitmap, or None if unallocated."""
        entry = self.table[index]
        return None if entry == UNUSED_BLOCK else entry * SECTOR

    def bitmap(self, index: int) -> bytes | None:
        offset = self.block_offset(index)
        if offset is None:
            return None
        return os.pread(self.fd, self.dynamic_header().bitmap_size, offset)

    def end_of_data(self) -> int:
        """Where the next block goes: past every block, table and locator."""
        header = self.dynamic_header()
        end = max(FOOTER_SIZE + HEADER_SIZE, header.table_offset + header.table_size)
        for locator in header.locators:
            if locator.used:
                end = max(end, locator.data_offset + round_up(max(locator.data_space, locator.data_length), SECTOR))
        for entry in self.table:
            if entry != UNUSED_BLOCK:
                end = max(end, entry * SECTOR + header.bitmap_size + header.block_size)
        return end

    # --- reading

    def own_runs(self, sector: int, count: int) -> Iterator[Run]:
        """The sectors [sector, sector+count) as this file holds them."""
        if self.header is None:
            yield sector, count, os.pread(self.fd, count * SECTOR, sector * SECTOR)
            return
        per_block = self.header.sectors_per_block
        while count > 0:
            index, within = divmod(sector, per_block)
            n = min(count, per_block - within)
            yield from self._block_runs(index, within, n)
            sector += n
            count -= n

    def _block_runs(self, index: int, within: int, n: int) -> Iterator[Run]:
        header = self.dynamic_header()
        first = index * header.sectors_per_block + within
        offset = self.block_offset(index)
        if offset is None:
            yield first, n, (None if self.disk_type is DiskType.DIFFERENCING else bytes(n * SECTOR))
            return
        data = os.pread(self.fd, n * SECTOR, offset + header.bitmap_size + within * SECTOR)
        if self.disk_type is not DiskType.DIFFERENCING:
            yield first, n, data
            return
        bitmap = os.pread(self.fd, header.bitmap_size, offset)
        start = 0
        while start < n:
            present = _bit(bitmap, within + start)
            end = start + 1
            while end < n and _bit(bitmap, within + end) == present:
                end += 1
            yield first + start, end - start, (data[start * SECTOR : end * SECTOR] if present else None)
            start = end

    # --- writing

    def write_sectors(self, sector: int, data: bytes) -> None:
        """Write whole sectors; allocates blocks and sets bitmap bits."""
        if len(data) % SECTOR or sector < 0 or sector * SECTOR + len(data) > self.size:
            raise ValueError(f"write of {len(data)} bytes at sector {sector} is outside {self.size} bytes")
        if self.header is None:
            os.pwrite(self.fd, data, sector * SECTOR)
            return
        per_block = self.header.sectors_per_block
        done = 0
        while done < len(data):
            index, within = divmod(sector, per_block)
            n = min((len(data) - done) // SECTOR, per_block - within)
            self._write_in_block(index, within, data[done : done + n * SECTOR])
            done += n * SECTOR
            sector += n

    def _write_in_block(self, index: int, within: int, chunk: bytes) -> None:
        header = self.dynamic_header()
        differencing = self.disk_type is DiskType.DIFFERENCING
        offset = self.block_offset(index)
        if offset is None:
            if not differencing and not any(chunk):
                return  # an unallocated dynamic block already reads as zeros
            offset = self.allocate_block(index)
        os.pwrite(self.fd, chunk, offset + header.bitmap_size + within * SECTOR)
        if differencing:
            bitmap = bytearray(os.pread(self.fd, header.bitmap_size, offset))
            for bit in range(within, within + len(chunk) // SECTOR):
                bitmap[bit // 8] |= 0x80 >> (bit % 8)
            os.pwrite(self.fd, bytes(bitmap), offset)

    def allocate_block(self, index: int) -> int:
        """A zeroed block at the end of the data; the footer moves past it.
        Data first, footer next, table entry last: a crash in between leaves
        an unreferenced block, never a table entry pointing at garbage."""
        header = self.dynamic_header()
        offset = self.end_of_data()
        fill = b"\0" if self.disk_type is DiskType.DIFFERENCING else b"\xff"
        os.pwrite(self.fd, fill * header.bitmap_size + bytes(header.block_size), offset)
        os.pwrite(self.fd, self.footer.pack(), offset + header.bitmap_size + header.block_size)
        self.table[index] = offset // SECTOR
        os.pwrite(self.fd, (offset // SECTOR).to_bytes(4, "big"), header.table_offset + 4 * index)
        return offset

    def free_block(self, index: int) -> None:
        self.table[index] = UNUSED_BLOCK
        os.pwrite(self.fd, UNUSED_BLOCK.to_bytes(4, "big"), self.dynamic_header().table_offset + 4 * index)

    def write_structures(self) -> None:
        """Footer (both copies), header and table as they are in memory, the
        file cut just past the trailing footer."""
        footer = self.footer.pack()
        if self.header is None:
            os.ftruncate(self.fd, self.size + FOOTER_SIZE)
            os.pwrite(self.fd, footer, self.size)
        else:
            os.pwrite(self.fd, pack_table(self.table, self.header.table_size), self.header.table_offset)
            os.pwrite(self.fd, self.header.pack(), self.footer.data_offset)
            end = self.end_of_data()
            os.ftruncate(self.fd, end + FOOTER_SIZE)
            os.pwrite(self.fd, footer, end)
            os.pwrite(self.fd, footer, 0)
        os.fsync(self.fd)


def _bit(bitmap: bytes, index: int) -> bool:
    return bool(bitmap[index // 8] & (0x80 >> (index % 8)))


def _read_structures(fd: int, path: Path) -> tuple[Footer, DynamicHeader | None, list[int]]:
    size = os.fstat(fd).st_size
    if size < FOOTER_SIZE:
        raise CorruptImageError(path, [f"{size} bytes is too short for a VHD footer"])
    try:
        footer = _read_footer(fd, size)
        if footer.disk_type is DiskType.FIXED:
            if size != footer.current_size + FOOTER_SIZE:
                raise VhdFormatError(f"fixed disk of {footer.current_size} bytes in a file of {size} bytes")
            return footer, None, []
        if footer.data_offset + HEADER_SIZE > size:
            raise VhdFormatError(f"dynamic header at {footer.data_offset} is past the end of the file ({size} bytes)")
        header = DynamicHeader.unpack(os.pread(fd, HEADER_SIZE, footer.data_offset))
        if header.max_table_entries * header.block_size < footer.current_size:
            raise VhdFormatError(
                f"table of {header.max_table_entries} blocks of {header.block_size} bytes is smaller than the disk"
            )
        if header.table_offset + header.max_table_entries * 4 > size:
            raise VhdFormatError(f"block allocation table at {header.table_offset} runs past the end of the file")
        table = unpack_table(os.pread(fd, header.max_table_entries * 4, header.table_offset), header.max_table_entries)
        span = header.bitmap_size + header.block_size
        beyond = [index for index, entry in enumerate(table) if entry != UNUSED_BLOCK and entry * SECTOR + span > size - FOOTER_SIZE]
        if beyond:
            raise VhdFormatError(f"block {beyond[0]} lies past the end of the file ({size} bytes): truncated?")
    except VhdFormatError as error:
        raise CorruptImageError(path, [str(error)]) from None
    return footer, header, table


def _read_footer(fd: int, size: int) -> Footer:
    """The trailing footer; if it is damaged, the copy at offset 0 (the
    specification keeps that copy for exactly this)."""
    try:
        return Footer.unpack(os.pread(fd, FOOTER_SIZE, size - FOOTER_SIZE))
    except VhdFormatError as trailing:
        try:
            copy = Footer.unpack(os.pread(fd, FOOTER_SIZE, 0))
        except VhdFormatError:
            raise trailing from None
        if copy.disk_type is DiskType.FIXED:
            raise trailing from None
        return copy
