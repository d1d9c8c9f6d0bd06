"""Keeping image paths inside the configured storage roots.

A path is accepted when it is absolute and both its lexical form (`..`
folded) and its real form (every existing symlink followed) lie inside one
root, so neither `root/../etc/passwd` nor `root/link-to-etc/passwd` gets
through. Callers use the returned real path from then on, so a symlink
swapped in later is not followed by the operation itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from cimprovider.backends.images.errors import PathOutsideStorageError

log = logging.getLogger(__name__)


class StorageRoots:
    def __init__(self, roots: Iterable[Path | str]) -> None:
        given = [Path(os.path.normpath(Path(root).absolute())) for root in roots]
        self.roots = tuple(root.resolve() for root in given)
        # A root may itself be reached through a symlink (/var → /private/var);
        # the lexical check accepts it under either name.
        self._names = tuple(dict.fromkeys(given + list(self.roots)))
        if not self.roots:
            raise ValueError("at least one storage root is needed")

    def confine(self, path: Path | str, field: str = "path") -> Path:
        """The real path of `path`, or PathOutsideStorageError naming `field`."""
        text = os.fspath(path)
        if not text or "\0" in text:
            raise PathOutsideStorageError(field, f"{text!r} is not a usable path")
        candidate = Path(text)
        if not candidate.is_absolute():
            raise PathOutsideStorageError(field, f"{text} is not an absolute path")
        lexical = Path(os.path.normpath(candidate))
        real = candidate.resolve()
        for form, kind, roots in ((lexical, "leaves", self._names), (real, "resolves outside", self.roots)):
            if not any(form.is_relative_to(root) for root in roots):
                names = ", ".join(str(root) for root in self.roots)
                raise PathOutsideStorageError(field, f"{text} {kind} the storage roots ({names})")
        return real

    def __contains__(self, path: object) -> bool:
        try:
            self.confine(path)  # type: ignore[arg-type]
        except PathOutsideStorageError:
            return False
        return True

    def remove(self, path: Path | str, what: str = "file") -> bool:
        """Delete the file at `path` (a missing one is fine) if it lies
        inside the roots; a path from a record (a store, a peer's offer)
        pointing elsewhere is left alone and logged. Whether it was inside."""
        try:
            self.confine(path, what)
        except PathOutsideStorageError as error:
            log.error("kept %s instead of deleting it: %s", path, error)
            return False
        Path(path).unlink(missing_ok=True)
        return True
