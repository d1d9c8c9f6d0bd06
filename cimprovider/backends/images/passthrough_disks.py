"""Which host disks a VM may be given whole: only those an admin listed
(`passthrough_disks`). A pass-through disk is named exactly as listed —
not through another symlink, `..` or a different name for the same device —
so that what an admin reads in the configuration is all a guest can reach.
Everything else stays under the storage roots' rule (drive_media.py), which
refuses every device node."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from cimprovider.backends.images.errors import InvalidImageParameterError

FIELD = "media.path"


class PassthroughDisks:
    def __init__(self, allowed: Iterable[Path | str] = ()) -> None:
        self.allowed: tuple[str, ...] = tuple(os.path.normpath(str(path)) for path in allowed)

    def __contains__(self, path: str) -> bool:
        return path in self.allowed

    def check(self, path: str) -> str:
        """The listed name of an offered disk that exists now, as a block
        device (or, for a test host, a regular file); raises
        InvalidImageParameterError naming the path otherwise."""
        if path not in self.allowed:
            raise InvalidImageParameterError(FIELD, f"{path} is not a pass-through disk this host offers (passthrough_disks)")
        try:
            mode = os.stat(path).st_mode
        except OSError as error:
            raise InvalidImageParameterError(FIELD, f"{path}: {error.strerror}") from None
        if not (stat.S_ISBLK(mode) or stat.S_ISREG(mode)):
            raise InvalidImageParameterError(FIELD, f"{path} is neither a block device nor a file")
        return path
