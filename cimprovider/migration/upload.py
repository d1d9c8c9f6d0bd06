"""One file of an incoming migration on its way in: written beside its
place as `<name>.migrating`, checked against the size and SHA-256 its offer
gave, and only then renamed into place; refused with the HTTP status the
upload channel answers."""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cimprovider.schemas.migration import FileSlot

PARTIAL_SUFFIX = ".migrating"


class UploadRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def partial_path(path: str) -> Path:
    target = Path(path)
    return target.with_name(target.name + PARTIAL_SUFFIX)


@dataclass
class Upload:
    """One file on its way in; `finish` checks it and puts it in place."""

    slot: FileSlot
    target: Path
    handle: object = None
    digest: "hashlib._Hash" = field(default_factory=hashlib.sha256)
    size: int = 0
    touched: Callable[[], None] = lambda: None  # each chunk is a sign of life from the source

    def write(self, chunk: bytes) -> None:
        self.touched()
        self.size += len(chunk)
        if self.size > self.slot.size:
            raise UploadRefused(413, f"{self.slot.path}: more than the {self.slot.size} bytes offered")
        self.digest.update(chunk)
        try:
            self.handle.write(chunk)  # type: ignore[attr-defined]
        except OSError as error:
            raise self._unwritable(error) from None

    def finish(self) -> None:
        try:
            self.handle.flush()  # type: ignore[attr-defined]
            os.fsync(self.handle.fileno())  # type: ignore[attr-defined]
            self.handle.close()  # type: ignore[attr-defined]
        except OSError as error:
            self.discard()
            raise self._unwritable(error) from None
        if self.size != self.slot.size or self.digest.hexdigest() != self.slot.sha256:
            partial_path(self.slot.path).unlink(missing_ok=True)
            raise UploadRefused(422, f"{self.slot.path}: size or SHA-256 differs from the offer; the file was discarded")
        os.replace(partial_path(self.slot.path), self.target)

    def discard(self) -> None:
        if self.handle is not None:
            try:
                self.handle.close()  # type: ignore[attr-defined]
            except OSError:
                pass  # what it could not write goes with the file
        partial_path(self.slot.path).unlink(missing_ok=True)

    def _unwritable(self, error: OSError) -> UploadRefused:
        """A full disk (or quota) is the destination's to say, with 507;
        the source then fails the migration and keeps the VM."""
        full = error.errno in (errno.ENOSPC, errno.EDQUOT)
        return UploadRefused(507 if full else 500, f"{self.slot.path}: the destination could not write the file "
                                                   f"({error.strerror}); the part written was discarded")
