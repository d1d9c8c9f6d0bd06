"""A VHD and its ancestors as one disk: opening the chain (each parent found
through the child's locators and checked against the child's record of its
unique id), reading a byte range through it, writing into the top image,
and creating a differencing disk on a parent.

A parent's path comes from inside the child file, which whoever made the
file chose: each one is confined to the storage roots before it is opened,
exactly like a path a client sends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Collection
from pathlib import Path
from types import TracebackType

from cimprovider.backends.images.errors import (
    CorruptImageError,
    ImageError,
    ImageNotFoundError,
    InvalidImageParameterError,
    PathOutsideStorageError,
)
from cimprovider.backends.images.storage_roots import StorageRoots
from cimprovider.backends.images.vhd_file import VhdFile
from cimprovider.backends.images.vhd_format import (
    DEFAULT_BLOCK_SIZE,
    FOOTER_SIZE,
    HEADER_SIZE,
    SECTOR,
    UNUSED_BLOCK,
    DiskType,
    DynamicHeader,
    Footer,
    pack_table,
    round_up,
    vhd_timestamp,
)
from cimprovider.backends.images.vhd_parents import LocatorReader, parent_candidates, parent_header

MAX_CHAIN_DEPTH = 128


class VhdChain:
    """`images[0]` is the disk opened; `images[-1]` has no parent."""

    def __init__(self, images: list[VhdFile]) -> None:
        self.images = images

    @classmethod
    def open(cls, path: Path, roots: StorageRoots, writable: Collection[int] = ()) -> "VhdChain":
        """`writable` lists the levels (0 = `path`) to open for writing;
        every level lies inside `roots` or the chain is refused."""
        images: list[VhdFile] = []
        try:
            images.append(VhdFile.open(roots.confine(path), writable=0 in writable))
            seen = {Path(path).resolve()}
            while images[-1].disk_type is DiskType.DIFFERENCING:
                if len(images) > MAX_CHAIN_DEPTH:
                    raise CorruptImageError(path, [f"parent chain deeper than {MAX_CHAIN_DEPTH}"])
                parent = open_parent(images[-1], roots, writable=len(images) in writable)
                if parent.path.resolve() in seen:
                    parent.close()
                    raise CorruptImageError(path, [f"parent chain loops back to {parent.path}"])
                seen.add(parent.path.resolve())
                images.append(parent)
        except BaseException:
            for image in images:
                image.close()
            raise
        return cls(images)

    def close(self) -> None:
        for image in self.images:
            image.close()

    def __enter__(self) -> "VhdChain":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def top(self) -> VhdFile:
        return self.images[0]

    @property
    def size(self) -> int:
        return self.top.size

    def read(self, offset: int, length: int) -> bytes:
        """Bytes as a guest sees them; any offset and length inside the disk."""
        if offset < 0 or length < 0 or offset + length > self.size:
            raise InvalidImageParameterError("offset", f"{offset}+{length} is outside the disk's {self.size} bytes")
        first = offset // SECTOR
        last = round_up(offset + length, SECTOR) // SECTOR
        data = self.read_sectors(0, first, last - first)
        skip = offset - first * SECTOR
        return data[skip : skip + length]

    def read_sectors(self, level: int, sector: int, count: int) -> bytes:
        """Sectors as seen from `images[level]` down."""
        if level >= len(self.images):
            return bytes(count * SECTOR)
        image = self.images[level]
        held = max(0, min(count, image.sectors - sector))
        parts = []
        for run_sector, run_count, data in image.own_runs(sector, held) if held else ():
            parts.append(data if data is not None else self.read_sectors(level + 1, run_sector, run_count))
        parts.append(bytes((count - held) * SECTOR))
        return b"".join(parts)

    def write(self, offset: int, data: bytes) -> None:
        """Write into the top image; partial sectors are completed from the
        chain first, because a differencing disk holds whole sectors only."""
        if offset < 0 or offset + len(data) > self.size:
            raise InvalidImageParameterError("offset", f"{offset}+{len(data)} is outside the disk's {self.size} bytes")
        if not data:
            return
        first = offset // SECTOR
        last = round_up(offset + len(data), SECTOR) // SECTOR
        if offset % SECTOR or len(data) % SECTOR:
            buffer = bytearray(self.read_sectors(0, first, last - first))
            skip = offset - first * SECTOR
            buffer[skip : skip + len(data)] = data
            data = bytes(buffer)
        self.top.write_sectors(first, data)


def open_parent(child: VhdFile, roots: StorageRoots, writable: bool = False, lock: bool = True) -> VhdFile:
    """The first located parent whose unique id is the one the child
    records. A candidate outside `roots` is never opened: if no candidate
    inside them is the parent, the chain is refused naming the outside one."""
    header = child.dynamic_header()
    candidates = parent_candidates(child.path, header, LocatorReader(child.fd))
    mismatched: list[str] = []
    outside: PathOutsideStorageError | None = None
    for candidate in candidates:
        try:
            candidate = roots.confine(candidate, "parent_path")
        except PathOutsideStorageError as error:
            outside = outside or error
            continue
        if not candidate.is_file():
            continue
        parent = VhdFile.open(candidate, writable=writable, lock=lock)
        if parent.footer.unique_id == header.parent_unique_id:
            return parent
        mismatched.append(f"{candidate} has unique id {parent.footer.unique_id}")
        parent.close()
    if outside is not None:
        raise PathOutsideStorageError("parent_path", f"{child.path}'s parent disk: {outside.reason}")
    if mismatched:
        raise CorruptImageError(
            child.path, [f"parent unique id should be {header.parent_unique_id}, but " + "; ".join(mismatched)]
        )
    tried = ", ".join(str(c) for c in candidates) or "(no locator)"
    raise ImageNotFoundError(f"{child.path}: parent disk not found (looked for {tried})")


def create_dynamic(path: Path, size: int, block_size: int = DEFAULT_BLOCK_SIZE) -> None:
    """A new, empty dynamic VHD; for block sizes qemu-img cannot make."""
    _create_sparse(Path(path), DiskType.DYNAMIC, size, block_size, None)


def create_differencing(path: Path, parent_path: Path, block_size: int = 0) -> None:
    """A new differencing VHD on `parent_path`, empty: every sector reads
    from the parent. Refuses to replace an existing file."""
    path, parent_path = Path(path), Path(parent_path)
    with VhdFile.open(parent_path) as parent:
        parent_footer = parent.footer
        if not block_size:
            block_size = parent.header.block_size if parent.header else DEFAULT_BLOCK_SIZE
    _create_sparse(path, DiskType.DIFFERENCING, parent_footer.current_size, block_size, (parent_path, parent_footer))


def _create_sparse(path: Path, kind: DiskType, size: int, block_size: int, parent: tuple[Path, Footer] | None) -> None:
    if block_size < SECTOR or block_size & (block_size - 1):
        raise InvalidImageParameterError("block_size", f"{block_size} is not a power of two ≥ 512")
    if size <= 0 or size % SECTOR:
        raise InvalidImageParameterError("max_internal_size", f"{size} is not a positive multiple of {SECTOR}")
    entries = -(-size // block_size)
    table_offset = FOOTER_SIZE + HEADER_SIZE
    header = DynamicHeader(table_offset=table_offset, max_table_entries=entries, block_size=block_size)
    end = table_offset + header.table_size
    locator_writes: list[tuple[int, bytes]] = []
    if parent is not None:
        header, locator_writes, end = parent_header(header, path, parent[0].absolute(), parent[1], end)
    footer = Footer(
        disk_type=kind, current_size=size, original_size=size, unique_id=uuid.uuid4(),
        data_offset=FOOTER_SIZE, timestamp=vhd_timestamp(),
    )  # fmt: skip
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise InvalidImageParameterError("path", f"{path} already exists") from None
    except FileNotFoundError:
        raise ImageNotFoundError(f"{path.parent}: no such directory") from None
    try:
        os.pwrite(fd, footer.pack() + header.pack() + pack_table([UNUSED_BLOCK] * entries, header.table_size), 0)
        for offset, data in locator_writes:
            os.pwrite(fd, data, offset)
        os.pwrite(fd, footer.pack(), end)
        os.fsync(fd)
    except OSError as error:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise ImageError(f"{path}: could not write the new disk: {error}") from error
    os.close(fd)
