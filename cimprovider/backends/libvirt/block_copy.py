"""Storage migration of a running VM on one KVM host: libvirt's block copy
mirrors each disk into a new file while the guest keeps writing, and once
the copy is in sync the guest is pivoted onto it; the persistent
definition is then pointed at the copies. A copy that fails or does not
get in sync is abandoned, so the guest reads its old disk as before.

Internal snapshots live inside a qcow2 disk and a block copy does not
carry them: the caller copies such a disk as a file first and prepares it
(its active layer emptied, see cimprovider.migration.snapshot_images), the
block copy then writes the whole guest-visible disk into that image
(REUSE_EXT, not shallow), and the snapshots' metadata is redefined with
the new paths once the guest is switched. External snapshots keep the
guest on an overlay over the files they froze, which QEMU only reads: the
caller carries those (and the memory files) as files, re-pointed at each
other, and makes an empty overlay on the moved chain; the block copy
writes only the top's own clusters into it (REUSE_EXT and SHALLOW), so
after the switch the guest reads the moved chain, and every snapshot is
described with the new paths. A VM with snapshots whose moved disks were
not so prepared is refused with the reason.

libvirtd runs the copy, not this process: a server killed mid-copy leaves
the job mirroring with nobody to pivot or abandon it. The restarted server
settles it (`settle_live_copies`) before it judges the move."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING
from uuid import UUID

import libvirt
from lxml import etree

from cimprovider.backends.errors import InvalidStateError, NotFoundError
from cimprovider.backends.libvirt.migration import with_disks_placed

if TYPE_CHECKING:
    from cimprovider.backends.libvirt.backend import LibvirtBackend

log = logging.getLogger(__name__)
SYNC_SECONDS = 600.0  # a disk copy that is not in sync by then is abandoned
POLL_SECONDS = 0.2
PERSISTENT_FLAGS = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE


class LibvirtBlockCopy:
    def copy_disks_live(self: "LibvirtBackend", vm_id: UUID, moves: dict[str, str], progress: Callable[[int], None],
                        prepared: frozenset[str] = frozenset(), shallow: frozenset[str] = frozenset(),
                        carried: Mapping[str, str] = MappingProxyType({})) -> None:
        domain = self._domain(vm_id)
        if not self._call(domain.isActive, "read the VM's state"):
            raise InvalidStateError(f"VM {vm_id} is not running: its files are moved, not copied live")
        snapshots = self._call(lambda: domain.snapshotNum(0), "count the VM's snapshots")
        unprepared = sorted(old for old, new in moves.items() if new not in prepared | shallow)
        if snapshots and unprepared:
            raise InvalidStateError(f"VM {vm_id} has {snapshots} snapshot(s), which a live disk copy into a new image "
                                    f"leaves behind ({', '.join(unprepared)}); move its storage while it is off or "
                                    "saved, or delete them first")
        # External ones' files are carried by the caller (`carried`): their descriptions are redefined too.
        definitions, current = self._snapshot_definitions(domain, vm_id, external=True) if snapshots else ((), None)
        placed = {**carried, **moves}
        disks = _file_disks(self._call(lambda: domain.XMLDesc(0), "read the VM"))
        unknown = sorted(set(moves) - set(disks))
        if unknown:
            raise InvalidStateError(f"VM {vm_id}: {', '.join(unknown)} is not a disk the running guest reads; "
                                    "only its disks can be copied live")
        try:
            for number, (old, new) in enumerate(moves.items()):
                target, fmt = disks[old]
                self._copy_one(domain, target, fmt, new, _copy_flags(new, prepared, shallow),
                               lambda p, n=number: progress(min(95, (n * 100 + p) * 95 // (100 * len(moves)))))
        except Exception:
            # Disks copied before the failure already read their copies: the caller judges each by what it reads now.
            self._published(vm_id)
            raise
        persistent = self._call(lambda: domain.XMLDesc(PERSISTENT_FLAGS), "read the VM")
        self._call(lambda: self._conn().defineXML(with_disks_placed(persistent, placed)), "point the VM at its copied disks")
        # Each snapshot's description names the disks it froze (an external one its overlay and memory file
        # too): redefined (replaced) with the new paths. The guest already reads the copies and the snapshots
        # may still name the old files: the caller keeps both, by what each reads.
        try:
            self._redefine_snapshots(domain, definitions, current, placed)
        except Exception as error:
            log.exception("VM %s reads its moved disks but its snapshots still name the old paths", vm_id)
            raise InvalidStateError(f"VM {vm_id} reads its moved disks, but its snapshots still name the old files, "
                                    f"which are kept: {error}") from None
        finally:
            self._published(vm_id)

    def _copy_one(self: "LibvirtBackend", domain: libvirt.virDomain, target: str, fmt: str, new: str, flags: int,
                  progress: Callable[[int], None]) -> None:
        copy = f"<disk type='file'><source file='{_attribute(new)}'/><driver type='{fmt}'/></disk>"
        self._call(lambda: domain.blockCopy(target, copy, {}, flags), f"copy the disk {target} to {new}")
        try:
            self._pivot_when_synced(domain, target, progress)
        except Exception:
            try:
                domain.blockJobAbort(target, 0)
            except libvirt.libvirtError:
                pass  # the job already ended
            raise

    def _pivot_when_synced(self: "LibvirtBackend", domain: libvirt.virDomain, target: str,
                           progress: Callable[[int], None]) -> None:
        deadline = time.monotonic() + SYNC_SECONDS
        while True:
            info = self._call(lambda: domain.blockJobInfo(target, 0), f"follow the copy of {target}")
            if not info:
                raise InvalidStateError(f"the copy of disk {target} ended before it was in sync")
            if info["end"]:
                progress(info["cur"] * 100 // info["end"])
            if info["end"] and info["cur"] == info["end"]:
                try:
                    domain.blockJobAbort(target, libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
                    return
                except libvirt.libvirtError:
                    pass  # not ready to pivot yet: the guest wrote meanwhile
            if time.monotonic() > deadline:
                raise InvalidStateError(f"the copy of disk {target} was not in sync after {SYNC_SECONDS:.0f} s")
            time.sleep(POLL_SECONDS)

    def settle_live_copies(self: "LibvirtBackend", vm_id: UUID, moves: dict[str, str]) -> None:
        """After a restart, for a move of `moves` (old path -> copy) nobody
        follows any more: a block copy still running into a copy is aborted,
        so the guest stays on its old disk and the copy is free to delete.
        (A guest already switched needs nothing: libvirt points the
        persistent definition at the copy when it switches.)"""
        with self._lock:
            try:
                domain = self._domain(vm_id)
            except NotFoundError:
                return
            if not self._call(domain.isActive, "read the VM's state"):
                return
            live = etree.fromstring(self._call(lambda: domain.XMLDesc(0), "read the VM"))
            copies = set(moves.values())
            for disk in live.iterfind("devices/disk"):
                mirror, target = disk.find("mirror"), disk.find("target")
                if mirror is None or target is None or _mirror_file(mirror) not in copies:
                    continue
                dev = target.get("dev")
                log.warning("VM %s: the copy of disk %s into %s was cut short by a restart: abandoned, the guest stays "
                            "on its disk", vm_id, dev, _mirror_file(mirror))
                self._call(lambda d=dev: domain.blockJobAbort(d, 0), f"abandon the copy of disk {dev}")
            self._published(vm_id)


def _copy_flags(new: str, prepared: frozenset[str], shallow: frozenset[str]) -> int:
    """Into an image made beforehand: one holding internal snapshots is
    written whole (REUSE_EXT); an empty overlay on the moved chain gets the
    top's own clusters alone (and SHALLOW). Otherwise libvirt makes the copy."""
    flags = libvirt.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB
    if new in prepared or new in shallow:
        flags |= libvirt.VIR_DOMAIN_BLOCK_COPY_REUSE_EXT
    if new in shallow:
        flags |= libvirt.VIR_DOMAIN_BLOCK_COPY_SHALLOW
    return flags


def _mirror_file(mirror: etree._Element) -> str | None:
    """Where a block job mirrors to: libvirt writes it as an attribute, and
    (newer) as a source element too."""
    source = mirror.find("source")
    return mirror.get("file") or (source.get("file") if source is not None else None)


def _file_disks(xml: str) -> dict[str, tuple[str, str]]:
    """Each file-backed disk of the live domain: path -> (target, format)."""
    found = {}
    for disk in etree.fromstring(xml).iterfind("devices/disk"):
        source, target, driver = disk.find("source"), disk.find("target"), disk.find("driver")
        if disk.get("device") == "disk" and source is not None and source.get("file") and target is not None:
            found[source.get("file")] = (target.get("dev"), driver.get("type") if driver is not None else "raw")
    return found


def _attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;")
