"""Disk images as QEMU is told to read them.

Every disk is written with its driver format, since a format left to
QEMU's probing is both unsafe (a guest can write a header that changes how
the next boot reads the disk) and wrong where QEMU cannot tell: libvirt
9.0 has no `vhdx` driver format and would hand a VHDX disk to QEMU as raw,
so the guest would see the container rather than the disk; and QEMU's
VHD (`vpc`) driver, which can read a VHD, blocks migration, so a VM on a
VHD could not be saved or snapshotted with its memory. VMs therefore run
on qcow2 or raw: a VHD or VHDX disk is converted once, as it is attached,
to a qcow2 working copy beside it (`<name>.vhd.qcow2`), which the guest
then runs on and writes. The model's media path is that copy, because it
holds the disk (export, clone and migration read it), and its
`attached_path` the file the client attached, which HostResource shows;
the attached file is left as it was when attached (README, "Disks on KVM").

Formats are read from the file's content (the images package's
`detect_format`), not its name. A remote libvirt host's files are not
ours, even when its URI names a loopback address (which may be a tunnel to
another machine): there the host's storage driver is asked, for a file in
one of its active pools, and the content it probed is believed where it
names a format (qcow2, VHD); libvirt 9.0 probes a VHDX as raw, so a raw
answer, a file outside every pool and a path not yet created fall back to
the suffix. A VHDX disk on a remote host is refused: converting it would
need the host's files, and so would the overlays an external snapshot
needs (see snapshots).

A medium is checked with the storage roots rule (`images.DriveMedia`)
before libvirt is told of it. On a remote host the path rule applies to the
host's paths as written, and the file must be a volume of one of the host's
active storage pools: what is not there is refused, as it is here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import libvirt
from lxml import etree

from cimprovider.backends.errors import BackendError, InvalidParameterError
from cimprovider.backends.images import DriveMedia, ImageError, QemuImg, confined_chain, detect_format
from cimprovider.backends.images.formats import working_copy
from cimprovider.schemas.devices import Drive, DriveType
from cimprovider.schemas.images import VirtualHardDiskFormat
from cimprovider.schemas.vm import VirtualMachine

QEMU_FORMATS = {
    VirtualHardDiskFormat.VHD: "vpc",
    VirtualHardDiskFormat.VHDX: "vhdx",
    VirtualHardDiskFormat.QCOW2: "qcow2",
    VirtualHardDiskFormat.RAW: "raw",
}
SUFFIX_FORMATS = {".qcow2": "qcow2", ".vhd": "vpc", ".avhd": "vpc", ".vhdx": "vhdx", ".img": "raw", ".raw": "raw", ".iso": "raw"}
# libvirt storage's names for the formats its probe can tell apart from raw.
VOLUME_FORMATS = {"qcow2": "qcow2", "vpc": "vpc", "vhd": "vpc"}
QCOW2_MAGIC = b"QFI\xfb"


def suffix_format(path: str) -> str:
    """The format a path's name suggests, for files this process cannot read."""
    return "raw" if path.startswith("/dev/") else SUFFIX_FORMATS.get(Path(path).suffix.lower(), "raw")


def is_local(uri: str) -> bool:
    """Whether the libvirt host is this machine (its files are ours to read)."""
    return urlparse(uri).hostname in (None, "", "localhost")


def volume_xml(conn: libvirt.virConnect, path: str) -> etree._Element | None:
    """The storage volume at `path` on the (remote) host, or None where no
    active pool holds it. The pool of its directory is refreshed first: the
    file may be newer than the pool's last look."""
    directory = str(PurePosixPath(path).parent)
    for pool in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
        target = etree.fromstring(pool.XMLDesc(0)).findtext("target/path")
        if target is not None and os.path.normpath(target) == directory:
            try:
                pool.refresh(0)
            except libvirt.libvirtError:
                pass  # another refresh under way: what it finds will do
    try:
        volume = conn.storageVolLookupByPath(path)
    except libvirt.libvirtError:
        return None
    return etree.fromstring(volume.XMLDesc(0))


def declared_formats(definition: etree._Element) -> dict[str, str]:
    """Each disk file of a domain's definition and the format it declares."""
    return {
        disk.find("source").get("file"): disk.find("driver").get("type")
        for disk in definition.iterfind("devices/disk")
        if disk.find("source") is not None and disk.find("driver") is not None and disk.find("source").get("file")
    }


class DiskImages:
    def __init__(
        self,
        local: bool,
        media: DriveMedia,
        qemu_img: QemuImg | None = None,
        remote_volume: Callable[[str], etree._Element | None] | None = None,
    ) -> None:
        self.local = local
        self.media = media
        self.qemu_img = qemu_img or QemuImg()
        # path → libvirt storage's volume on a remote host (volume_xml)
        self.remote_volume = remote_volume

    def check_media(self, drive: Drive) -> None:
        """The storage roots rule, before libvirt (and QEMU) hear of the file."""
        if drive.media is None:
            return
        if self.local or self.remote_volume is None:
            self.media.check(drive)
            return
        path = drive.media.path
        self.media.confine(path)
        volume = self.remote_volume(path)
        if volume is None:
            raise InvalidParameterError("media.path", f"{path}: no such file in the libvirt host's storage pools")
        if volume.get("type", "file") != "file":
            raise InvalidParameterError("media.path", f"{path} is not a regular file; only image files are attached")
        backing = volume.findtext("backingStore/path")
        if backing:
            self.media.confine(backing)

    def vetted(self, path: str) -> Path:
        """The real path of a local disk whose whole chain lies inside the
        storage roots: asked before qemu-img makes an overlay on it, commits
        into it or a file beside it is written or deleted."""
        return confined_chain(Path(path), self.media.roots, self.qemu_img, "media.path")[0]

    def inside_roots(self, path: str) -> bool:
        return path in self.media.roots

    def remote_format(self, path: str) -> str | None:
        volume = self.remote_volume(path) if self.remote_volume is not None else None
        found = None if volume is None else volume.find("target/format")
        return None if found is None else found.get("type")

    def driver_format(self, path: str, declared: Mapping[str, str] | None = None) -> str:
        """QEMU's name for the format of the image at `path`. A disk its
        domain already `declared` keeps that format: its guest writes its
        bytes, and a raw disk's guest could write an image header there
        naming a file QEMU would then open for it. A new disk's format is
        read from its content; a local file outside the storage roots (a
        disk of a domain defined elsewhere) is never opened."""
        if path.startswith("/dev/"):
            return "raw"
        if declared and declared.get(path):
            return declared[path]
        file = Path(path)
        if self.local and not self.inside_roots(path):
            return suffix_format(path)
        if self.local and file.is_file():
            with open(file, "rb") as handle:
                if handle.read(4) == QCOW2_MAGIC:
                    return "qcow2"  # the common case, without running qemu-img
            try:
                return QEMU_FORMATS[detect_format(file, self.qemu_img)]
            except (ImageError, OSError):
                pass
        elif not self.local and self.remote_volume is not None:
            probed = VOLUME_FORMATS.get(self.remote_format(path) or "")
            if probed is not None:
                return probed
        return suffix_format(path)

    def runnable(self, vm: VirtualMachine, keep: frozenset[str] = frozenset(),
                 declared: Mapping[str, str] | None = None) -> VirtualMachine:
        """`vm` as QEMU runs it: each VHD or VHDX disk replaced by its qcow2
        working copy, except those in `keep` (disks a running guest has on
        the file itself, moved when it is off: the copy would miss what
        the guest writes meanwhile). A disk the domain `declared` keeps
        that format (see driver_format)."""
        drives = []
        for drive in vm.drives:
            media = drive.media
            if media is not None and drive.drive_type is DriveType.DISK and media.path not in keep:
                fmt = self.driver_format(media.path, declared)
                # A VHD not there (yet) is left to QEMU's VHD driver, and so is
                # one outside the roots (a domain changed elsewhere: never
                # opened, so never copied); a VHDX is refused (converted()).
                if fmt == "vhdx" or (fmt == "vpc" and self.local and self.inside_roots(media.path)
                                     and Path(media.path).is_file()):
                    copy = str(self.converted(Path(media.path), fmt))
                    drive = drive.replace(media=media.replace(path=copy, attached_path=media.path))
            if drive.media is not None and drive.media.attached_path and drive.media.path != working_copy(drive.media.attached_path):
                # Moved (a snapshot's overlay, a migration's placement): no longer the copy of that file.
                drive = drive.replace(media=drive.media.replace(attached_path=None))
            drives.append(drive)
        return vm if tuple(drives) == vm.drives else vm.replace(drives=tuple(drives))

    def converted(self, source: Path, fmt: str = "vhdx") -> Path:
        """The qcow2 working copy of a VHD or VHDX disk, made now unless an
        earlier one is at least as new as the source."""
        if not self.local:
            raise InvalidParameterError(
                "media.path", f"{source} is VHDX, which QEMU cannot run; convert it to qcow2 on the libvirt host first"
            )
        # The copy is written beside the source: both inside the roots only.
        source = self.vetted(str(source)) if source.is_file() else source
        if not source.is_file():
            # Written as anything else, a VHDX appearing later would be misread.
            raise InvalidParameterError("media.path", f"{source} does not exist; a VHDX disk is converted to qcow2 as it is attached")
        target = Path(working_copy(str(source)))
        if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
            return target
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            self.qemu_img.convert(source, partial, "qcow2", source_format=fmt)
            partial.replace(target)
        except ImageError as error:
            raise BackendError(f"cannot convert the disk {source} to qcow2: {error}") from None
        finally:
            partial.unlink(missing_ok=True)
        return target
