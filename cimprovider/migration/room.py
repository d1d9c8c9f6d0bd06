"""Whether the destination's storage has room for an offer's files: each
file system the files land on must have as many bytes free as the files
bound for it hold, when the offer is checked. A file filling the disk on
its way in is still refused then (another writer may take the room
meanwhile), but a migration that cannot fit fails before anything is
sent."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from cimprovider.schemas.migration import MigrationOffer


def _existing(path: Path) -> Path:
    """The nearest folder of `path` that exists (the file and its folders may not yet)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def room_reasons(offer: MigrationOffer) -> list[str]:
    """Why the offer's files do not fit (empty: they do)."""
    needed: dict[int, tuple[Path, int]] = {}
    for slot in offer.files:
        place = _existing(Path(slot.path).parent)
        device = os.stat(place).st_dev
        where, total = needed.get(device, (place, 0))
        needed[device] = (where, total + slot.size)
    found = []
    for where, total in needed.values():
        free = shutil.disk_usage(where).free
        if total > free:
            found.append(f"not enough space on the destination host: the files for {where} need {total} bytes, "
                         f"{free} bytes are free there")
    return found
