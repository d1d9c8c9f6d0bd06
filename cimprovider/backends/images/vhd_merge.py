"""Merging a differencing VHD into its parent or an ancestor further up, and
pointing a differencing VHD at another parent.

A merge writes into the destination every sector that the source or any disk
between it and the destination holds, with the value the chain shows for it;
then, as Hyper-V's Merge-VHD does, the source and the disks in between are
deleted, since nothing they held is lost and they no longer match their
parents. Progress counts blocks of the source.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cimprovider.backends.images.errors import InvalidImageParameterError
from cimprovider.backends.images.qemu_img import ProgressCallback
from cimprovider.backends.images.storage_roots import StorageRoots
from cimprovider.backends.images.vhd_chain import VhdChain
from cimprovider.backends.images.vhd_file import VhdFile
from cimprovider.backends.images.vhd_format import SECTOR, DiskType
from cimprovider.backends.images.vhd_parents import parent_header


def merge(source: Path, destination: Path, roots: StorageRoots, progress: ProgressCallback | None = None) -> list[Path]:
    """Merge `source` down into `destination`; returns the files deleted.
    Every disk of the chain lies inside `roots` (VhdChain refuses one that
    does not before anything is written), so nothing outside is deleted."""
    source, destination = Path(source), Path(destination)
    with VhdChain.open(source, roots) as probe:
        level = _level_of(probe, destination)
    with VhdChain.open(source, roots, writable={level}) as chain:
        target = chain.images[level]
        if target.size < chain.size:
            raise InvalidImageParameterError(
                "destination", f"{destination} ({target.size} bytes) is smaller than {source} ({chain.size} bytes)"
            )
        per_block = _unit(chain)
        blocks = -(-chain.top.sectors // per_block)
        for index in range(blocks):
            first = index * per_block
            count = min(per_block, chain.top.sectors - first)
            for run_first, run_count in _held_above(chain, level, first, count):
                target.write_sectors(run_first, chain.read_sectors(0, run_first, run_count))
            if progress is not None:
                progress(min(99, (index + 1) * 100 // blocks))
        os.fsync(target.fd)
        merged = [image.path for image in chain.images[:level]]
    for path in merged:
        path.unlink()
    if progress is not None:
        progress(100)
    return merged


def set_parent(child: Path, parent: Path, ignore_id_mismatch: bool = False, parent_chain: Sequence[Path] = ()) -> None:
    """Point `child` at `parent` (moved, copied, or — with
    `ignore_id_mismatch` — a different disk with the same content).
    `parent_chain` is the parent and the disks under it, which must not
    include the child."""
    child, parent = Path(child), Path(parent)
    with VhdFile.open(parent) as parent_file:
        parent_footer = parent_file.footer
    with VhdFile.open(child, writable=True) as image:
        if image.disk_type is not DiskType.DIFFERENCING:
            raise InvalidImageParameterError("child_path", f"{child} is a {image.disk_type.name.lower()} disk, not a differencing disk")
        _not_an_ancestor(child, parent, parent_chain or [parent])
        header = image.dynamic_header()
        if parent_footer.unique_id != header.parent_unique_id and not ignore_id_mismatch:
            raise InvalidImageParameterError(
                "parent_path",
                f"{parent} has unique id {parent_footer.unique_id}; {child} was made on {header.parent_unique_id}",
            )
        updated, writes, _ = parent_header(header, child, parent.absolute(), parent_footer, image.end_of_data())
        for offset, data in writes:
            os.pwrite(image.fd, data, offset)
        image.header = updated
        image.write_structures()


def _not_an_ancestor(child: Path, parent: Path, parent_chain: Sequence[Path]) -> None:
    """A disk cannot be its own parent, nor the parent of a disk it is an
    ancestor of: the chain would loop and no reader could open it again."""
    for level, disk in enumerate(parent_chain):
        if os.path.samefile(disk, child):
            reason = "is the child disk itself" if level == 0 else f"has {child} in its own parent chain"
            raise InvalidImageParameterError("parent_path", f"{parent} {reason}; a disk cannot be its own parent or ancestor")


def _level_of(chain: VhdChain, destination: Path) -> int:
    wanted = destination.resolve()
    for level, image in enumerate(chain.images):
        if level and image.path.resolve() == wanted:
            return level
    names = " → ".join(str(image.path) for image in chain.images)
    raise InvalidImageParameterError("destination_path", f"{destination} is not an ancestor of the source ({names})")


def _unit(chain: VhdChain) -> int:
    """Work in the source's blocks (or 2 MiB for a source without them)."""
    header = chain.top.header
    return header.sectors_per_block if header else (2 * 1024 * 1024) // SECTOR


def _held_above(chain: VhdChain, level: int, first: int, count: int) -> list[tuple[int, int]]:
    """Runs of sectors in [first, first+count) that some disk above `level` holds."""
    held = bytearray(count)
    for image in chain.images[:level]:
        visible = max(0, min(count, image.sectors - first))
        for run_first, run_count, data in image.own_runs(first, visible) if visible else ():
            # Only differencing disks sit above another disk, and they answer
            # None for what they do not hold.
            if data is not None:
                held[run_first - first : run_first - first + run_count] = b"\x01" * run_count
    runs: list[tuple[int, int]] = []
    start = None
    for offset, flag in enumerate(held + b"\0"):
        if flag and start is None:
            start = offset
        elif not flag and start is not None:
            runs.append((first + start, offset - start))
            start = None
    return runs
