"""External snapshots on libvirt, which libvirt 9.0 cannot revert: each
disk frozen under a qcow2 overlay made beside it; applying one gives the
VM its definition from the snapshot and fresh overlays on the frozen
disks; overlays no snapshot and no VM reads are committed back or deleted.
Every file is confined to the storage roots before qemu-img or libvirt
touches it. A mixin of SnapshotOperations (and so of LibvirtBackend)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import libvirt
from lxml import etree

from cimprovider.backends.errors import InvalidStateError
from cimprovider.backends.images import ImageError
from cimprovider.backends.libvirt.disk_images import DiskImages, declared_formats
from cimprovider.backends.libvirt.snapshot_xml import (
    SnapshotExtras,
    external_snapshot_xml,
    frozen_files,
    is_our_overlay,
    memory_file,
    overlay_path,
)
from cimprovider.schemas.config import ServerConfig


log = logging.getLogger(__name__)

INACTIVE = libvirt.VIR_DOMAIN_XML_INACTIVE
MEMORY_FOLDER = "snapshot-memory"  # in the data directory: a running guest's memory, for external snapshots
MEMORY_SUFFIX = ".save"
S = libvirt.virDomainSnapshot


class ExternalSnapshots:
    # Provided by LibvirtBackend (declared here, so this mixin needs no import of it).
    _config: ServerConfig
    _images: DiskImages
    _conn: Callable[[], libvirt.virConnect]

    def _external_snapshot(
        self,
        vm_id: UUID,
        new_id: UUID,
        extras: SnapshotExtras,
        disks: dict[str, tuple[str | None, str]],
        running: bool,
        memory: bool,
    ) -> tuple[str, int]:
        """The XML and flags of an external snapshot: each disk frozen under
        an overlay, and with `memory` a running guest's memory in a file."""
        overlays: dict[str, str | None] = {
            target: overlay_path(path, str(new_id)[:8]) if path else None for target, (path, _) in disks.items()
        }
        saved = self._memory_path(vm_id, new_id) if memory else None
        flags = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC if running else 0
        if saved is None:
            flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
        return external_snapshot_xml(str(new_id), extras, overlays, saved), flags

    def _memory_path(self, vm_id: UUID, snapshot: UUID) -> str:
        folder = self._config.data_dir / MEMORY_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder / f"{vm_id}-{snapshot}{MEMORY_SUFFIX}")

    def _kept_memory_file(self, path: str) -> Path | None:
        """The real path of a snapshot's memory file where this host keeps
        them: its memory folder, or (moved with the VM's storage, as Hyper-V
        keeps a checkpoint's memory beside its disks) a `.save` file inside
        the storage roots; None for any other file (a snapshot redefined
        elsewhere may name any), which is never carried, moved or deleted."""
        file = Path(path)
        if file.is_symlink() or file.suffix != MEMORY_SUFFIX:
            return None
        real = file.resolve()
        if real.parent == (self._config.data_dir / MEMORY_FOLDER).resolve() or self._images.inside_roots(str(real)):
            return real
        return None

    def _apply_external(
        self, domain: libvirt.virDomain, snap: S, xml: etree._Element, keep_memory: bool
    ) -> None:
        was_on = {path for path in self._current_files(domain)}
        kept = xml.find("domain")
        assert kept is not None
        definition = etree.fromstring(etree.tostring(kept))
        frozen = set(frozen_files(xml))
        declared = declared_formats(definition)
        tag = secrets.token_hex(4)
        for disk in definition.iterfind("devices/disk"):
            source, driver = disk.find("source"), disk.find("driver")
            path = source.get("file") if source is not None else None
            if path in frozen:
                self._images.vetted(path)
                overlay = overlay_path(path, tag)
                fmt = self._images.driver_format(path, declared)
                try:
                    self._images.qemu_img.run(
                        ["create", "-q", "-f", "qcow2", "-b", path, "-F", fmt, overlay], subject=Path(path)
                    )
                except ImageError as error:
                    raise InvalidStateError(f"cannot give the VM a fresh disk on {path}: {error}") from None
                source.set("file", overlay)
                if driver is not None:
                    driver.set("type", "qcow2")
                for chain in disk.findall("backingStore"):
                    disk.remove(chain)
        self._conn().defineXML(etree.tostring(definition, encoding="unicode"))
        memory = memory_file(xml)
        if keep_memory and memory is not None:
            # The memory as saved, on the fresh overlays over what the disks
            # held at that moment; kept as Hyper-V keeps it: the VM is Saved.
            self._conn().restoreFlags(memory, etree.tostring(definition, encoding="unicode"), libvirt.VIR_DOMAIN_SAVE_PAUSED)
            domain.managedSave(libvirt.VIR_DOMAIN_SAVE_RUNNING)
        domain.snapshotCreateXML(
            snap.getXMLDesc(libvirt.VIR_DOMAIN_SNAPSHOT_XML_SECURE),
            libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT,
        )
        self._forget_unread(domain, was_on)

    def _commit_into_frozen(self, domain: libvirt.virDomain, frozen: set[str]) -> None:
        """Block commit, offline: a disk running on our overlay over a file
        no snapshot reads any more goes back onto that file, with what the
        overlay holds written into it (as Hyper-V merges an .avhdx)."""
        still_read = {path for snap in domain.listAllSnapshots(0) for path in frozen_files(etree.fromstring(snap.getXMLDesc(0)))}
        definition = etree.fromstring(domain.XMLDesc(INACTIVE))
        committed: list[Path] = []
        for disk in definition.iterfind("devices/disk"):
            source, driver = disk.find("source"), disk.find("driver")
            path = source.get("file") if source is not None else None
            if not path or not is_our_overlay(path):
                continue
            try:
                self._images.vetted(path)
            except ImageError as error:
                log.warning("left %s uncommitted: %s", path, error)
                continue
            info = self._images.qemu_img.info(Path(path), "qcow2")
            base = info.backing_filename
            if base not in frozen or base in still_read:
                continue
            self._images.qemu_img.run(["commit", "-q", "-f", "qcow2", path], subject=Path(path))
            source.set("file", base)
            if driver is not None:
                # As the overlay was made over it (-F), not as its content now reads.
                driver.set("type", info.raw.get("backing-filename-format") or self._images.driver_format(base))
            committed.append(Path(path))
        if committed:
            self._conn().defineXML(etree.tostring(definition, encoding="unicode"))
            for path in committed:
                path.unlink(missing_ok=True)

    def _current_files(self, domain: libvirt.virDomain) -> list[str]:
        xml = etree.fromstring(domain.XMLDesc(INACTIVE))
        return [str(path) for path in xml.xpath("devices/disk/source/@file")]

    def _forget_unread(self, domain: libvirt.virDomain, candidates: set[str]) -> None:
        """Delete overlays we made that neither the VM nor a snapshot reads."""
        read = set(self._current_files(domain))
        for snap in domain.listAllSnapshots(0):
            xml = etree.fromstring(snap.getXMLDesc(0))
            # What a snapshot reads is what it froze (its own overlay was
            # the VM's disk after it, and is read only if a later one froze it).
            read |= set(frozen_files(xml))
        for path in candidates - read:
            if is_our_overlay(path) and self._images.inside_roots(path) and not self._backed_by(path, read):
                Path(path).unlink(missing_ok=True)

    def _backed_by(self, path: str, read: set[str]) -> bool:
        """Whether a file still read has `path` as its backing file."""
        for other in read:
            if other.endswith(".qcow2") and not self._images.inside_roots(other):
                return True  # never opened, so it may read through `path`: that one stays
            if Path(other).is_file() and other.endswith(".qcow2"):
                try:
                    if self._images.qemu_img.info(Path(other)).backing_filename == path:
                        return True
                except ImageError:
                    continue
        return False
