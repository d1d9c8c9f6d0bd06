"""Telling an image's format from its content, and qemu's name for it."""

from __future__ import annotations

import os
from pathlib import Path

from cimprovider.backends.images.qemu_img import QemuImg
from cimprovider.backends.images.vhd_format import FOOTER_COOKIE
from cimprovider.schemas.images import VirtualHardDiskFormat

Format = VirtualHardDiskFormat
QEMU_FORMAT = {Format.VHD: "vpc", Format.VHDX: "vhdx", Format.QCOW2: "qcow2", Format.RAW: "raw"}


# On KVM a VHD or VHDX disk runs on a qcow2 working copy beside it, named
# so (the libvirt backend's disk_images): the copy holds what the guest wrote.
WORKING_COPY_SUFFIX = ".qcow2"


def working_copy(path: str) -> str:
    """Where the qcow2 working copy of the VHD or VHDX file `path` lives."""
    return path + WORKING_COPY_SUFFIX


def signatures(path: Path) -> tuple[bytes, bytes]:
    """The first 8 bytes of the file and the first 8 of its last sector,
    where the image formats write their magic (a VHD its footer cookie)."""
    with open(path, "rb") as file:
        head = file.read(8)
        size = os.fstat(file.fileno()).st_size
        tail = os.pread(file.fileno(), 8, size - 512) if size >= 512 else b""
    return head, tail


def detect_format(path: Path, tool: QemuImg) -> VirtualHardDiskFormat:
    """By content, never by name: a file called x.vhd may be anything."""
    head, tail = signatures(path)
    if head == b"vhdxfile":
        return Format.VHDX
    if tail == FOOTER_COOKIE or head == FOOTER_COOKIE:
        return Format.VHD
    found = tool.info(path, shared=True).format
    return Format.QCOW2 if found == "qcow2" else Format.RAW
