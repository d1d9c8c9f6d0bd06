"""Files being written under a temporary name, and what a crash leaves of them.

A new image (create, convert, and the copies export, import and cloning
make through convert) is written as `.<name>.<uuid>.partial` in the
destination's folder and takes its real name only when complete, so a
killed server never leaves a half-written disk under the name a client
asked for; at start-up, whatever still carries that exact naming scheme
under the storage roots is a leftover of a killed job and is removed.
Export's staging folder uses the same scheme and is removed the same way.

In-place operations and a kill:
- VHD shrink and compact, and every VHDX resize and compact, are copy-then-rename (the
  rewrite is a partial file renamed over the original): the old disk stays
  whole until the rename.
- Fixed VHD expansion writes the new footer at the new end before zeroing
  the old one, so the file ends in a valid footer at every point.
- Dynamic VHD expansion and merges write in place: a merge only copies into
  the parent data the child still covers, so the chain reads the same if it
  is cut short and the merge can be run again; dynamic expansion rewrites
  the header and table, a window of a few sector writes.

Two servers sharing a storage root would remove each other's partial files
at start-up; storage roots belong to one server.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

from cimprovider.backends.images.errors import InvalidImageParameterError

PARTIAL_NAME = re.compile(r"^\..+\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.partial$")


def partial_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid4()}.partial")


@contextmanager
def written_as(destination: Path) -> Iterator[Path]:
    """Yields the temporary path to write; when the block ends without an
    error it becomes `destination` (which must not exist by then). On any
    error, the temporary file goes."""
    temporary = partial_name(destination)
    try:
        yield temporary
        place(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def place(temporary: Path, destination: Path) -> None:
    """Give `temporary` its real name without ever replacing a file that
    appeared meanwhile: a hard link fails if the name is taken, where a
    rename would silently overwrite."""
    try:
        os.link(temporary, destination)
    except FileExistsError:
        raise InvalidImageParameterError("path", f"{destination} already exists") from None
    except OSError:  # a file system without hard links
        if destination.exists():
            raise InvalidImageParameterError("path", f"{destination} already exists") from None
        os.rename(temporary, destination)
        return
    temporary.unlink()


def remove_leftovers(roots: Iterable[Path]) -> list[Path]:
    """Remove what killed jobs left under `roots`: files and folders whose
    name matches the partial scheme exactly, nothing else. Returns them."""
    removed: list[Path] = []
    for root in roots:
        for folder, subfolders, files in os.walk(root, followlinks=False):
            for name in [n for n in subfolders if PARTIAL_NAME.match(n)]:
                subfolders.remove(name)  # not descended into: it goes whole
                path = Path(folder, name)
                if not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(path)
            for name in files:
                if PARTIAL_NAME.match(name):
                    path = Path(folder, name)
                    path.unlink(missing_ok=True)
                    removed.append(path)
    return removed
