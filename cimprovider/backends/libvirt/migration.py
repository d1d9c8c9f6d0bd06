"""libvirt's own live migration, with the storage copied (Hyper-V's
"virtual system and storage" move of a running VM): peer to peer, the
source's libvirtd drives it to the destination's URI, QEMU streams the
memory and mirrors each disk over NBD into the empty image the
destination made beforehand, and the destination persists the domain
while the source undefines it. Memory and disk traffic go to the host of
the destination's URI (loopback for a UNIX socket URI, a hypervisor on
this machine), never to an address libvirt would guess from a host name.

Only a running or paused VM moves this way: libvirt copies no storage for
an offline migration. Snapshots (libvirt does not carry them) and an ISO
in a drive (read-only media are not copied) are refused with the reason."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from uuid import UUID

import libvirt
from lxml import etree

from cimprovider.backends.errors import InvalidStateError
from cimprovider.schemas.migration import MigratingDisk

if TYPE_CHECKING:
    from cimprovider.backends.libvirt.backend import LibvirtBackend

MIGRATE_FLAGS = (
    libvirt.VIR_MIGRATE_LIVE
    | libvirt.VIR_MIGRATE_PEER2PEER
    | libvirt.VIR_MIGRATE_PERSIST_DEST
    | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    | libvirt.VIR_MIGRATE_NON_SHARED_DISK
)
PROGRESS_SECONDS = 0.5


class LibvirtMigration:
    def migration_uri(self: "LibvirtBackend") -> str:
        return self._config.libvirt_migration_uri or self._config.libvirt_uri

    def migration_disks(self: "LibvirtBackend", vm_id: UUID) -> list[MigratingDisk]:
        domain = self._domain(vm_id)
        if not self._call(domain.isActive, "read the VM's state"):
            raise InvalidStateError(f"VM {vm_id} is not running: libvirt moves a VM's storage only with the running VM; "
                                    "start it first")
        snapshots = self._call(lambda: domain.snapshotNum(0), "count the VM's snapshots")
        if snapshots:
            raise InvalidStateError(f"VM {vm_id} has {snapshots} snapshot(s), which libvirt does not carry; "
                                    "delete or apply them first")
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
            disks.append(MigratingDisk(path=path, format=fmt, virtual_size=capacity))
        return disks

    def migrate_to(self: "LibvirtBackend", vm_id: UUID, uri: str, placements: dict[str, str],
                   progress: Callable[[int], None]) -> None:
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
        done = threading.Event()
        watcher = threading.Thread(target=_follow, args=(domain, progress, done), name=f"migrate-{vm_id}", daemon=True)
        watcher.start()
        try:
            self._call(lambda: domain.migrateToURI3(uri, params, MIGRATE_FLAGS), f"migrate VM {vm_id} to {uri}")
        finally:
            done.set()
            watcher.join(timeout=10)


def with_disks_placed(xml: str, placements: dict[str, str]) -> str:
    """`xml` (a domain's, or a snapshot's with the domain it froze) with
    each disk's file moved as `placements` says."""
    root = etree.fromstring(xml)
    for source in root.iterfind(".//disk/source"):
        path = source.get("file")
        if path in placements:
            source.set("file", placements[path])
    return etree.tostring(root, encoding="unicode")


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
