"""Telling an image's format from its content, and qemu's name for it."""

from __future__ import annotations

import os
from pathlib import Path

from cimprovider.backends.images.qemu_img import QemuImg
from cimprovider.backends.images.vhd_format import FOOTER_COOKIE
from cimprovider.schemas.images import VirtualHardDiskFormat

Format = VirtualHardDiskFormat
QEMU_FORMAT = {Format.VHD: "vpc", Format.VHDX: "vhdx", Format.QCOW2: "qcow2", Format.RAW: "raw"}


def detect_format(path: Path, tool: QemuImg) -> VirtualHardDiskFormat:
    """By content, never by name: a file called x.vhd may be anything."""
    with open(path, "rb") as file:
        head = file.read(8)
        size = os.fstat(file.fileno()).st_size
        tail = os.pread(file.fileno(), 8, size - 512) if size >= 512 else b""
    if head == b"vhdxfile":
        return Format.VHDX
    if tail == FOOTER_COOKIE or head == FOOTER_COOKIE:
        return Format.VHD
    found = tool.info(path, shared=True).format
    return Format.QCOW2 if found == "qcow2" else Format.RAW
