"""Naming a differencing disk's parent: the parent locators (W2ru relative,
W2ku absolute, both UTF-16LE), the header's parent name and unique id, and
finding the parent file again from them.

The host is Linux, so the paths we store are POSIX paths with the
separators Windows expects swapped in for the relative locator only
(`.\\base.vhd`): Hyper-V resolves that one after a copy to Windows, and
the absolute one is what any Linux reader (libvhdi) needs.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from cimprovider.backends.images.vhd_format import (
    LOCATOR_COUNT,
    SECTOR,
    DynamicHeader,
    Footer,
    ParentLocator,
    PlatformCode,
    round_up,
    vhd_timestamp,
)

# Room reserved for each locator's path when a disk is created, so that
# re-parenting to a longer path rarely has to move anything.
LOCATOR_RESERVE = 2 * SECTOR


def relative_locator_text(child: Path, parent: Path) -> str:
    relative = os.path.relpath(parent, child.parent)
    windows = relative.replace("/", "\\")
    return windows if windows.startswith("..") else ".\\" + windows


def locator_texts(child: Path, parent: Path) -> list[tuple[bytes, str]]:
    """What to store, best first: relative, then absolute."""
    return [
        (PlatformCode.RELATIVE, relative_locator_text(child, parent)),
        (PlatformCode.ABSOLUTE, str(parent)),
    ]


def encode_locator(text: str) -> bytes:
    return text.encode("utf-16-le")


def decode_locator(data: bytes) -> str:
    return data.decode("utf-16-le", errors="replace").split("\0", 1)[0]


def parent_candidates(child: Path, header: DynamicHeader, read: "LocatorReader") -> list[Path]:
    """Where the parent may be, in the order to try: each locator, then the
    header's parent name beside the child (Hyper-V's own last resort)."""
    found: list[Path] = []
    for locator in header.locators:
        if not locator.used or locator.data_length <= 0:
            continue
        text = decode_locator(read(locator.data_offset, locator.data_length))
        if not text:
            continue
        if locator.platform_code == PlatformCode.RELATIVE:
            relative = text.replace("\\", "/").removeprefix("./")
            found.append(Path(os.path.normpath(child.parent / relative)))
        elif locator.platform_code == PlatformCode.ABSOLUTE:
            found.append(Path(text))
    if header.parent_name:
        found.append(child.parent / Path(header.parent_name.replace("\\", "/")).name)
    return found


class LocatorReader:
    """pread on the child file, typed for parent_candidates."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __call__(self, offset: int, length: int) -> bytes:
        return os.pread(self.fd, length, offset)


def parent_header(
    header: DynamicHeader, child: Path, parent: Path, parent_footer: Footer, data_start: int
) -> tuple[DynamicHeader, list[tuple[int, bytes]], int]:
    """The header naming `parent`, the locator data to write (offset, bytes),
    and where the data area then ends. Locators keep their place when the new
    text fits the space they had; otherwise they go to `data_start`."""
    locators = list(header.locators)
    writes: list[tuple[int, bytes]] = []
    end = data_start
    for slot, (code, text) in enumerate(locator_texts(child, parent)):
        data = encode_locator(text)
        old = locators[slot]
        if old.used and old.data_space >= len(data) and old.data_offset:
            offset, space = old.data_offset, old.data_space
        else:
            offset, space = end, round_up(max(len(data), LOCATOR_RESERVE), SECTOR)
            end += space
        locators[slot] = ParentLocator(code, space, len(data), offset)
        # Pad the reserved space with zeros so a shorter path leaves no tail
        # of the previous one behind.
        writes.append((offset, data + bytes(space - len(data))))
    for slot in range(2, LOCATOR_COUNT):
        locators[slot] = ParentLocator()
    name = parent.name
    updated = replace(
        header,
        parent_unique_id=parent_footer.unique_id,
        parent_timestamp=vhd_timestamp(parent.stat().st_mtime),
        parent_name=name,
        locators=tuple(locators),
    )
    return updated, writes, end
