"""What a virtual drive may hold: the one rule every backend applies to a
medium before a VM is given it.

A medium is an image file inside the storage roots — not a path that leaves
them by `..` or a symlink, not a device node or a folder, not a file that
is not there — and every file it reads through (a VHD's parents, a qcow2's
backing files) lies inside them too: QEMU would open those on the guest's
behalf, so a medium naming /etc/shadow, /dev/sda or a crafted child of
either would hand the host's files to the guest; and an image that reads
through another file is taken only under its format's name (format_names:
a raw disk's guest can write such a header). A drive with no medium (an
empty DVD drive) is always allowed. The one exception is a pass-through
disk, a host disk an admin listed (passthrough_disks.py); a listed device
named as an image medium is still refused.
"""

from __future__ import annotations

from pathlib import Path

from cimprovider.backends.images.chains import confined_chain
from cimprovider.backends.images.errors import InvalidImageParameterError
from cimprovider.backends.images.format_names import check_named_for_links
from cimprovider.backends.images.passthrough_disks import PassthroughDisks
from cimprovider.backends.images.qemu_img import QemuImg
from cimprovider.backends.images.storage_roots import StorageRoots
from cimprovider.schemas.devices import Drive

FIELD = "media.path"


class DriveMedia:
    def __init__(self, roots: StorageRoots, qemu_img: QemuImg | None = None, passthrough: PassthroughDisks | None = None) -> None:
        self.roots = roots
        self.qemu_img = qemu_img or QemuImg()
        self.passthrough = passthrough or PassthroughDisks()

    def check(self, drive: Drive) -> None:
        """Raises InvalidParameterError (PathOutsideStorageError for a path
        that leaves the roots) naming the path at fault."""
        if drive.media is not None and drive.media.passthrough:
            self.passthrough.check(drive.media.path)
        elif drive.media is not None:
            self.check_path(drive.media.path)

    def check_path(self, path: str) -> Path:
        """The real path of an acceptable medium on this host."""
        real = self.confine(path)
        if not real.exists():
            raise InvalidImageParameterError(FIELD, f"{path}: no such file")
        if not real.is_file():
            raise InvalidImageParameterError(FIELD, f"{path} is not a regular file; only image files are attached")
        check_named_for_links(real, FIELD)  # before any file it names is opened
        confined_chain(real, self.roots, self.qemu_img, FIELD)
        return real

    def confine(self, path: str) -> Path:
        """The path rule alone, for a host whose files are not ours to open."""
        return self.roots.confine(path, FIELD)
