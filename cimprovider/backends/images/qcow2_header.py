"""The few fields of a qcow2 header that say which other files the image
names (a backing file, an external data file) and where its active L1
table is, read from the bytes themselves: no tool opens the image, so no
file it names is opened before the name is judged.

Layout (QEMU's docs/interop/qcow2.txt): big-endian; the backing file's
name at (offset 8, size 16); the L1 table's entry count at 36 and offset
at 40; crypt_method at 32; the snapshot count at 60; from version 3 the
incompatible features at 72 and the header length at 100, after which the
header extensions run, each a type, a length and data padded to 8 bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from cimprovider.backends.images.errors import CorruptImageError

MAGIC = b"QFI\xfb"
_EXTENSION_END = 0
_EXTENSION_DATA_FILE = 0x44415441
_EXTERNAL_DATA_FILE_BIT = 1 << 2
_MAX_L1_ENTRIES = 32 * 1024 * 1024  # QEMU's own bound (QCOW_MAX_L1_SIZE / 8)
_MAX_NAME = 1023  # QEMU refuses longer backing file names


@dataclass(frozen=True)
class Qcow2Header:
    version: int
    backing_file: str | None
    encrypted: bool
    l1_size: int
    l1_table_offset: int
    snapshots: int
    data_file: str | None  # an external data file holds the guest's clusters


def read_qcow2_header(path: Path) -> Qcow2Header:
    with open(path, "rb") as image:
        fixed = image.read(104)
        if len(fixed) < 72 or fixed[:4] != MAGIC:
            raise CorruptImageError(path, ["not a qcow2 image"])
        version, backing_offset, backing_size = struct.unpack(">IQI", fixed[4:20])
        crypt, l1_size, l1_offset = struct.unpack(">IIQ", fixed[32:48])
        snapshots = struct.unpack(">I", fixed[60:64])[0]
        if l1_size > _MAX_L1_ENTRIES:
            raise CorruptImageError(path, [f"an active L1 table of {l1_size} entries"])
        backing = _name_at(image, path, backing_offset, backing_size, "backing file") if backing_offset else None
        data_file = None
        if version >= 3 and len(fixed) >= 104:
            features = struct.unpack(">Q", fixed[72:80])[0]
            length = struct.unpack(">I", fixed[100:104])[0]
            data_file = _data_file(image, path, length)
            if features & _EXTERNAL_DATA_FILE_BIT and data_file is None:
                data_file = "(named outside the image)"
    return Qcow2Header(version, backing, crypt != 0, l1_size, l1_offset, snapshots, data_file)


def _name_at(image, path: Path, offset: int, size: int, what: str) -> str:  # type: ignore[no-untyped-def]
    if size > _MAX_NAME:
        raise CorruptImageError(path, [f"a {what} name of {size} bytes"])
    image.seek(offset)
    raw = image.read(size)
    if len(raw) != size:
        raise CorruptImageError(path, [f"the {what} name lies past the end of the file"])
    return raw.decode("utf-8", errors="replace")


def _data_file(image, path: Path, offset: int) -> str | None:  # type: ignore[no-untyped-def]
    """The external data file a header extension names, if one does."""
    image.seek(offset)
    for _ in range(64):  # a header holds a handful of extensions; more is a crafted file
        head = image.read(8)
        if len(head) < 8:
            return None
        kind, length = struct.unpack(">II", head)
        if kind == _EXTENSION_END:
            return None
        data = image.read((length + 7) & ~7)
        if kind == _EXTENSION_DATA_FILE:
            return data[:length].decode("utf-8", errors="replace")
    raise CorruptImageError(path, ["too many header extensions"])


def empty_active_layer(path: Path) -> None:
    """Zero every entry of the image's active L1 table, so the guest-visible
    disk reads as zeros while its internal snapshots, which have L1 tables
    of their own, stay whole. The clusters only the active layer used are
    leaked until `qemu-img check -r all` gives them back."""
    header = read_qcow2_header(path)
    with open(path, "r+b") as image:
        image.seek(header.l1_table_offset)
        image.write(bytes(8 * header.l1_size))
        image.flush()
