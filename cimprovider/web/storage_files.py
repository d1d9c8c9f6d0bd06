"""The files of the storage roots the console offers: disks and ISOs to
pick in the wizard and the settings, and a folder listing for the storage
page. Only what lies inside a root is listed (symbolic links are not
followed out); whatever is picked still goes through the model, which
confines every path itself."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DISK_SUFFIXES = (".vhdx", ".vhd", ".qcow2", ".img", ".raw", ".avhdx")
ISO_SUFFIXES = (".iso",)
MAX_FILES = 2000
MAX_DEPTH = 4


@dataclass(frozen=True, slots=True)
class Entry:
    path: Path
    is_dir: bool
    size: int


def inside(path: Path, roots: list[Path]) -> Path | None:
    """`path` resolved, if it lies in one of the roots; else None."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    for root in roots:
        if resolved == root.resolve() or resolved.is_relative_to(root.resolve()):
            return resolved
    return None


def files_with(roots: list[Path], suffixes: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []
    for root in roots:
        base = root.resolve()
        for folder, dirs, names in os.walk(base):
            depth = len(Path(folder).relative_to(base).parts)
            if depth >= MAX_DEPTH:
                dirs[:] = []
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.lower().endswith(suffixes):
                    candidate = Path(folder) / name
                    if inside(candidate, [base]) is not None:
                        found.append(candidate)
                if len(found) >= MAX_FILES:
                    return found
    return found


def listing(folder: Path) -> list[Entry]:
    entries = []
    with os.scandir(folder) as scan:
        for item in scan:
            if item.name.startswith("."):
                continue
            try:
                is_dir = item.is_dir(follow_symlinks=False)
                size = 0 if is_dir else item.stat(follow_symlinks=False).st_size
            except OSError:
                continue
            entries.append(Entry(Path(item.path), is_dir, size))
            if len(entries) >= MAX_FILES:
                break
    return sorted(entries, key=lambda e: (not e.is_dir, e.path.name.lower()))
