"""libvirt's own live migration, with the storage copied (Hyper-V's
"virtual system and storage" move of a running VM): peer to peer, the
source's libvirtd drives it to the destination's URI, QEMU streams the
memory and mirrors each disk over NBD into the image the destination
made beforehand, and the destination persists the domain while the
source undefines it. Memory and disk traffic go to the host of the
destination's URI (loopback for a UNIX socket URI, a hypervisor on this
machine), never to an address libvirt would guess from a host name.

Only a running or paused VM moves this way: libvirt copies no storage for
an offline migration. Internal snapshots move with it: a qcow2 disk that
holds some is named with their names, travels first as a file (see
cimprovider.migration.snapshot_images) and is the image the mirror
writes into; libvirt refuses to migrate a domain that has snapshot
metadata, so the metadata is set aside here for the move (see
snapshots_aside) and redefined on the destination, paths placed.
External snapshots and backing chains go too: what each disk reads
through and what the snapshots name travel as files (migration_files),
the destination makes each disk on its placed parent, and libvirt copies
only the top images. An ISO in a drive (read-only media are not copied)
is refused with the reason."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from uuid import UUID

import libvirt
from lxml import etree

from cimprovider.backends.errors import InvalidStateError
from cimprovider.backends.images import ImageError, QemuImg
from cimprovider.backends.libvirt.snapshot_xml import memory_file, snapshot_id
from cimprovider.schemas.migration import MigratingDisk, MigratingVm

if TYPE_CHECKING:
    from cimprovider.backends.libvirt.backend import LibvirtBackend

MIGRATE_FLAGS = (
    libvirt.VIR_MIGRATE_LIVE
    | libvirt.VIR_MIGRATE_PEER2PEER
    | libvirt.VIR_MIGRATE_PERSIST_DEST
    | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
)
PROGRESS_SECONDS = 0.5
log = logging.getLogger(__name__)


class LibvirtMigration:
    def migration_uri(self: "LibvirtBackend") -> str:
        return self._config.libvirt_migration_uri or self._config.libvirt_uri

    def migration_disks(self: "LibvirtBackend", vm_id: UUID) -> list[MigratingDisk]:
        domain = self._domain(vm_id)
        if not self._call(domain.isActive, "read the VM's state"):
            raise InvalidStateError(f"VM {vm_id} is not running: libvirt moves a VM's storage only with the running VM; "
                                    "start it first")
        snapshots = self._call(lambda: domain.snapshotNum(0), "count the VM's snapshots")
        root = etree.fromstring(self._call(lambda: domain.XMLDesc(0), "read the VM"))
        disks = []
        for disk in root.iterfind("devices/disk"):
            source = disk.find("source")
            path = source.get("file") if source is not None else None
            if disk.get("device") == "cdrom":
                if path:
                    raise InvalidStateError(f"{path}: read-only media do not move with the VM; eject it first")
                continue
            if disk.get("type") != "file" or not path:
                raise InvalidStateError(f"VM {vm_id}: only file-backed disks move with the VM")
            driver = disk.find("driver")
            fmt = driver.get("type") if driver is not None else None
            if fmt not in ("qcow2", "raw"):
                raise InvalidStateError(f"{path}: a {fmt or 'probed'} image cannot be copied by the hypervisor")
            capacity = self._call(lambda p=path: domain.blockInfo(p)[0], f"read the size of {path}")
            disks.append(_disk(path, fmt, capacity, bool(snapshots)))
        return disks

    def migrate_to(self: "LibvirtBackend", vm_id: UUID, uri: str, placements: dict[str, str],
                   progress: Callable[[int], None], mebibytes_per_second: int = 0) -> None:
        domain = self._domain(vm_id)
        flags = libvirt.VIR_DOMAIN_XML_SECURE | libvirt.VIR_DOMAIN_XML_MIGRATABLE
        live = with_disks_placed(self._call(lambda: domain.XMLDesc(flags), "read the VM"), placements)
        persistent = with_disks_placed(self._call(lambda: domain.XMLDesc(flags | libvirt.VIR_DOMAIN_XML_INACTIVE), "read the VM"), placements)
        address = _data_address(uri)
        params = {
            libvirt.VIR_MIGRATE_PARAM_URI: f"tcp://{address}",
            libvirt.VIR_MIGRATE_PARAM_LISTEN_ADDRESS: address,
            libvirt.VIR_MIGRATE_PARAM_DEST_XML: live,
            libvirt.VIR_MIGRATE_PARAM_PERSIST_XML: persistent,
        }
        if mebibytes_per_second:  # memory and the disks copied with it alike
            params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = mebibytes_per_second
        done = threading.Event()
        watcher = threading.Thread(target=_follow, args=(domain, progress, done), name=f"migrate-{vm_id}", daemon=True)
        definitions, current = self._snapshot_definitions(domain, vm_id, external=True)
        self._set_snapshots_aside(domain, vm_id, definitions, current)
        watcher.start()
        try:
            self._call(lambda: domain.migrateToURI3(uri, params, _flags(live)), f"migrate VM {vm_id} to {uri}")
            self._snapshots_moved(vm_id)
            for xml in definitions:
                memory = memory_file(etree.fromstring(xml))
                if memory is not None:
                    self._remove_memory(memory)  # the destination has its copy
        except Exception:
            try:
                self._snapshots_back(domain, vm_id)
            except Exception:  # noqa: BLE001 - the move's failure is the one to report
                log.exception("VM %s stays here but its snapshots' metadata could not be redefined", vm_id)
            raise
        finally:
            done.set()
            watcher.join(timeout=10)

    def arriving_vms(self: "LibvirtBackend") -> set[UUID]:
        """Domains an incoming migration made and has not finished: libvirt
        keeps them paused for the migration and transient until the memory
        is all here, then persists and resumes them (or, failed, removes
        them)."""
        domains = self._call(lambda: self._conn().listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_TRANSIENT),
                             "list domains")
        return {UUID(bytes=d.UUID()) for d in domains if _incoming(d)}

    def adopt_snapshots(self: "LibvirtBackend", record: MigratingVm) -> None:
        """The arrived VM's snapshots, their data already inside its disks."""
        with self._lock:
            domain = self._domain(record.vm.id)
            definitions = tuple(self._memory_kept(record.vm.id, with_disks_placed(xml, record.placed_paths), [])
                                for xml in record.snapshot_definitions)
            self._redefine_snapshots(domain, definitions, record.current_snapshot, {})
            self._published(record.vm.id)

    def _memory_kept(self: "LibvirtBackend", vm_id: UUID, xml: str, kept: list[str]) -> str:
        """An external snapshot's memory file arrives beside the disks; it is
        kept where this host keeps its own (and deletes it from), and added to `kept`."""
        root = etree.fromstring(xml)
        memory = root.find("memory")
        arrived = memory_file(root)
        if memory is None or arrived is None:
            return xml
        source = self._images.media.roots.confine(arrived, "snapshot memory file")
        target = self._memory_path(vm_id, snapshot_id(vm_id, root.findtext("name") or ""))
        shutil.move(source, target)
        kept.append(target)
        memory.set("file", target)
        return etree.tostring(root, encoding="unicode")


def with_disks_placed(xml: str, placements: dict[str, str]) -> str:
    """`xml` (a domain's, or a snapshot's with the domain it froze) with
    each disk's file (and the files under it, and a snapshot's memory
    file) moved as `placements` says."""
    root = etree.fromstring(xml)
    # A disk's source, the backing files under it, an external snapshot's memory file.
    for source in [*root.iterfind(".//disk/source"), *root.iterfind(".//disk//backingStore/source"), *root.iterfind("memory")]:
        path = source.get("file")
        if path in placements:
            source.set("file", placements[path])
    return etree.tostring(root, encoding="unicode")


def _disk(path: str, fmt: str, capacity: int, has_snapshots: bool) -> MigratingDisk:
    """A raw disk as it is; a qcow2 with the snapshots inside it and the
    file it reads through, from its header (read shared: a guest runs on it)."""
    if fmt != "qcow2":
        return MigratingDisk(path=path, format=fmt, virtual_size=capacity)
    try:
        info = QemuImg(timeout=60).info(Path(path), "qcow2", shared=True)
    except ImageError as error:
        raise InvalidStateError(f"{path} cannot be read: {error}") from None
    inside = tuple(str(s.get("name")) for s in info.raw.get("snapshots", [])) if has_snapshots else ()
    backing = info.raw.get("full-backing-filename") or info.backing_filename
    backing_format = info.raw.get("backing-filename-format") if backing else None
    if backing and backing_format not in ("qcow2", "raw"):
        raise InvalidStateError(f"{path}: its backing file {backing} is a {backing_format or 'probed'} image, "
                                "which cannot be carried under it")
    return MigratingDisk(path=path, format=fmt, virtual_size=capacity, snapshots=inside, backing=backing,
                         backing_format=backing_format)


def _flags(live_xml: str) -> int:
    """Every disk copied whole, or, when a disk reads through a backing
    file (carried beside it as a file), each disk's top image alone: the
    destination's images were made on the placed parents. A disk without
    a parent is its own top, so it is copied whole either way."""
    chained = etree.fromstring(live_xml).find("devices/disk/backingStore/source") is not None
    return MIGRATE_FLAGS | (libvirt.VIR_MIGRATE_NON_SHARED_INC if chained else libvirt.VIR_MIGRATE_NON_SHARED_DISK)


def _incoming(domain: libvirt.virDomain) -> bool:
    try:
        return domain.state(0) == [libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_MIGRATION]
    except libvirt.libvirtError:
        return False  # gone while listed: the move failed


def _data_address(uri: str) -> str:
    """Where the destination's QEMU listens for memory and disks: its URI's
    host; a URI without one (a UNIX socket) is a hypervisor on this machine."""
    host = urlsplit(uri).hostname
    return host if host and host != "localhost" else "127.0.0.1"


def _follow(domain: libvirt.virDomain, progress: Callable[[int], None], done: threading.Event) -> None:
    """Progress from libvirt's job statistics: disk and memory bytes moved."""
    while not done.wait(PROGRESS_SECONDS):
        try:
            stats = domain.jobStats()
        except libvirt.libvirtError:
            return
        total = stats.get("disk_total", 0) + stats.get("memory_total", 0)
        moved = stats.get("disk_processed", 0) + stats.get("memory_processed", 0)
        if total:
            progress(min(95, 10 + moved * 85 // total))
