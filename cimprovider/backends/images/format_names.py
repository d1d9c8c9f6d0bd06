"""An image that reads through another file is attached only under its
format's own name.

A raw disk's bytes are its guest's: the guest can write a qcow2 header
there naming a backing file or an external data file, or a differencing
VHD's footer naming a parent. A disk is read by content as it is attached,
so attached afresh (to another VM, or in a VM imported again) that raw
disk would have QEMU open the file it names for the new guest: inside the
storage roots, so the roots rule lets it through, but perhaps another
VM's disk. Hyper-V attaches only files named for their format (.vhd,
.vhdx, .avhd, .avhdx, .iso). Any name is taken here, but an image that
names another file must carry its format's suffix (.qcow2 for a qcow2,
.vhd or .avhd for a VHD): a guest can write a header into its disk, never
rename the disk.
"""

from __future__ import annotations

from pathlib import Path

from cimprovider.backends.images.errors import InvalidImageParameterError
from cimprovider.backends.images.formats import signatures
from cimprovider.backends.images.qcow2_header import MAGIC as QCOW2_MAGIC
from cimprovider.backends.images.qcow2_header import read_qcow2_header
from cimprovider.backends.images.vhd_file import VhdFile
from cimprovider.backends.images.vhd_format import FOOTER_COOKIE, DiskType

# The suffixes that name a format able to read through another file.
_NAMED = {".qcow2": "qcow2", ".vhd": "VHD", ".avhd": "VHD"}


def check_named_for_links(path: Path, field: str) -> None:
    """InvalidImageParameterError if the image at `path` reads through
    another file while its name does not say its format."""
    found = _other_file(path)
    if found is None:
        return
    fmt, other = found
    if _NAMED.get(path.suffix.lower()) == fmt:
        return
    suffixes = " or ".join(s for s, named in _NAMED.items() if named == fmt)
    raise InvalidImageParameterError(
        field, f"{path} is a {fmt} image that reads through {other}, but its name does not end in {suffixes}: "
        f"a raw disk's guest can write such a header, so an image that reads through another file is attached "
        f"only under its format's name (rename it if it is a {fmt} image)")


def _other_file(path: Path) -> tuple[str, str] | None:
    """(the format, the other file it names) for a qcow2 with a backing or
    data file or a differencing VHD; None for an image that names none."""
    head, tail = signatures(path)
    if head[:4] == QCOW2_MAGIC:
        header = read_qcow2_header(path)
        if header.backing_file is not None:
            return "qcow2", f"the backing file {header.backing_file!r}"
        if header.data_file is not None:
            return "qcow2", f"the data file {header.data_file!r}"
        return None
    if FOOTER_COOKIE in (head, tail):
        with VhdFile.open(path, lock=False) as image:
            if image.disk_type is DiskType.DIFFERENCING:
                return "VHD", f"the parent {image.dynamic_header().parent_name!r}"
    return None
