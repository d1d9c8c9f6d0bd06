"""What the image code raises. Each error is also one of the backend errors,
so the CIM side maps it as it maps any backend failure:
ImageNotFoundError → 32779, ImageInUseError → 32774,
InvalidImageParameterError (and PathOutsideStorageError) → 32773,
anything else (CorruptImageError, a tool failing oddly) → 32768.
Every message carries the tool's own words where a tool was involved."""

from __future__ import annotations

from cimprovider.backends.errors import BackendError, InUseError, InvalidParameterError, NotFoundError


class ImageError(BackendError):
    """An image operation failed for a reason without a more precise kind."""


class ImageNotFoundError(ImageError, NotFoundError):
    """The image file (or a parent in its chain) does not exist."""


class ImageInUseError(ImageError, InUseError):
    """Another process holds the image open, or its lock."""


class InvalidImageParameterError(ImageError, InvalidParameterError):
    """A request the image cannot honour: wrong type, bad size, bad option."""

    def __init__(self, field: str, message: str) -> None:
        InvalidParameterError.__init__(self, field, message)


class PathOutsideStorageError(InvalidImageParameterError):
    """A path leaves the configured storage roots (directly, by `..`, or
    through a symlink)."""


class CorruptImageError(ImageError):
    """The file is not a well-formed image: bad cookie, checksum, table or
    a parent that no longer matches. `problems` lists every finding."""

    def __init__(self, path: object, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.path = path
        self.problems = problems


class ImageToolTimeoutError(ImageError):
    """An external tool ran past its time limit and was killed."""


class InsufficientSpaceError(ImageError):
    """A fixed disk's blocks cannot all be reserved on its file system."""
