"""What a VM's disks read but the hypervisor does not copy: the
files under each disk's top image (an external snapshot's frozen disk, a
base image, older overlays), those its snapshots name, and the memory
files of its external snapshots. None of them is written while the VM
runs (QEMU opens backing files read-only and a snapshot's files are not
open at all), so they travel as they are, beside the disks; the
hypervisor copies only each top image, onto its placed parent. An off
or saved VM carries them as files with its disks (see handover).

Every file is confined before it is read: a disk's chain to the storage
roots (walked from the headers, never through a link that leaves them),
a memory file to this host's snapshot memory folder or, moved with
the VM's storage, to the storage roots."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import libvirt
from lxml import etree

from cimprovider.backends.errors import InvalidStateError
from cimprovider.backends.images import ImageError, confined_chain
from cimprovider.backends.libvirt.external_snapshots import MEMORY_FOLDER
from cimprovider.backends.libvirt.snapshot_xml import frozen_files, memory_file, overlay_files

if TYPE_CHECKING:
    from cimprovider.backends.libvirt.backend import LibvirtBackend


class LibvirtMigrationFiles:
    def migration_files(self: "LibvirtBackend", vm_id: UUID) -> tuple[list[str], list[str], list[str]]:
        """(the image files to carry, parents before children; those of them
        the VM's snapshots name, which are the VM's alone; the memory files)."""
        domain = self._domain(vm_id)
        root = etree.fromstring(self._call(lambda: domain.XMLDesc(0), "read the VM"))
        tops = [str(p) for p in root.xpath("devices/disk[@device='disk']/source/@file")]
        named: list[str] = []
        for top in tops:
            named += self._chain(top)[1:]
        snapshot_chains, owned, memories = self._snapshot_files(domain)
        ordered: list[str] = []
        for path in reversed(named + snapshot_chains):  # each chain is top first: its parents come before it
            if path not in ordered and path not in tops:
                ordered.append(path)
        return ordered, [p for p in ordered if p in owned], memories

    def _snapshot_files(self: "LibvirtBackend", domain: libvirt.virDomain) -> tuple[list[str], list[str], list[str]]:
        """The files the VM's external snapshots name, each confined: (their
        chains, top first; the files named; the memory files)."""
        named: list[str] = []
        owned: list[str] = []
        memories: list[str] = []
        for snapshot in self._call(lambda: domain.listAllSnapshots(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL),
                                   "list the VM's snapshots"):
            xml = etree.fromstring(self._call(lambda s=snapshot: s.getXMLDesc(0), "read a snapshot"))
            for path in frozen_files(xml) + overlay_files(xml):
                named += self._chain(path)
                owned.append(path)
            memory = memory_file(xml)
            if memory is not None:
                memories.append(self._own_memory_file(memory))
        return named, owned, list(dict.fromkeys(memories))

    def migration_snapshots(self: "LibvirtBackend", vm_id: UUID) -> tuple[tuple[str, ...], str | None]:
        """Each snapshot's XML, parents first, and the current one's name."""
        return self._snapshot_definitions(self._domain(vm_id), vm_id, external=True)

    def _chain(self: "LibvirtBackend", path: str) -> list[str]:
        if not Path(path).exists():
            return []  # an overlay a later apply removed: nothing reads it
        try:
            return [str(p) for p in confined_chain(Path(path), self._images.media.roots, self._images.qemu_img, "disk path")]
        except ImageError as error:
            raise InvalidStateError(f"{path} cannot move with the VM: {error}") from None

    def _own_memory_file(self: "LibvirtBackend", path: str) -> str:
        kept = self._kept_memory_file(path)
        if kept is None or not kept.is_file():
            folder = (self._config.data_dir / MEMORY_FOLDER).resolve()
            raise InvalidStateError(f"{path}: a snapshot's memory file that is neither in {folder} nor a .save file "
                                    "inside the storage roots does not move with the VM")
        return str(kept)
