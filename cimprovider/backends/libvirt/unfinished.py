"""What a snapshot cut short by a killed server leaves on libvirt, and its
removal when the restarted server settles the job as failed.

libvirtd makes the snapshot, not this process: killed mid-call, the server
leaves libvirtd to finish or fail on its own. So the restarted server
first waits for the domain's job to end, then:
- the snapshot exists (libvirtd finished after the job was judged): it is
  destroyed as a client's destroy would, since its job reads failed;
- the VM runs on an overlay made for it with no snapshot recorded: the
  overlay is committed back into the disk it froze and the VM goes back
  onto that disk (only while the VM is off; a running VM keeps it, logged);
- overlays made for it beside the VM's disks, and the memory file of a
  running guest, are deleted.
Only our own overlays (named by `overlay_path` with the snapshot's tag)
inside the storage roots are touched. A mixin of LibvirtBackend, after
SnapshotOperations."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import libvirt

from cimprovider.backends.errors import NotFoundError
from cimprovider.backends.images import ImageError
from cimprovider.backends.libvirt.disk_images import DiskImages
from cimprovider.backends.libvirt.external_snapshots import MEMORY_FOLDER
from cimprovider.backends.libvirt.snapshot_xml import is_our_overlay, overlay_path
from cimprovider.schemas.config import ServerConfig
from cimprovider.schemas.vm import VirtualMachine


log = logging.getLogger(__name__)

JOB_WAIT_SECONDS = 120.0  # a running guest's memory may still be being written


class UnfinishedSnapshotCleanup:
    # Provided by LibvirtBackend and its SnapshotOperations.
    _lock: threading.RLock
    _config: ServerConfig
    _images: DiskImages
    _domain: Callable[[UUID], libvirt.virDomain]
    _published: Callable[[UUID], VirtualMachine]
    _current_files: Callable[[libvirt.virDomain], list[str]]
    _commit_into_frozen: Callable[[libvirt.virDomain, set[str]], None]
    destroy_snapshot: Callable[..., None]

    def discard_unfinished_snapshot(self, vm_id: UUID, snapshot_id: UUID) -> list[str]:
        """Remove what a snapshot left whose job was cut short; returns the
        files deleted (and the snapshot's id when libvirt had finished it)."""
        with self._lock:
            try:
                domain = self._domain(vm_id)
            except NotFoundError:
                return []
            _await_domain_job(domain)
            if _has_snapshot(domain, str(snapshot_id)):
                log.warning("snapshot %s of VM %s was finished after its job was cut short: destroyed", snapshot_id, vm_id)
                self.destroy_snapshot(snapshot_id)
                return [str(snapshot_id)]
            tag = str(snapshot_id)[:8]
            removed = self._undo_tagged_overlays(domain, tag)
            memory = self._config.data_dir / MEMORY_FOLDER / f"{vm_id}-{snapshot_id}.save"
            if memory.is_file():
                memory.unlink()
                removed.append(str(memory))
            if removed:
                self._published(vm_id)
            return removed

    def _undo_tagged_overlays(self, domain: libvirt.virDomain, tag: str) -> list[str]:
        current = self._current_files(domain)
        ours = [path for path in current if _tagged(path, tag) and self._images.inside_roots(path)]
        removed: list[str] = []
        if ours and domain.isActive():
            log.warning("VM %s runs on %s, left by a snapshot cut short; kept until it is off", domain.name(), ", ".join(ours))
        elif ours:
            bases = {base for path in ours if (base := self._backing_of(path))}
            self._commit_into_frozen(domain, bases)
            removed += [path for path in ours if not Path(path).exists()]
        for path in current:
            beside = overlay_path(path, tag)
            if beside not in current and Path(beside).is_file() and self._images.inside_roots(beside):
                Path(beside).unlink()
                removed.append(beside)
        return removed

    def _backing_of(self, path: str) -> str | None:
        try:
            return self._images.qemu_img.info(Path(path)).backing_filename
        except ImageError as error:
            log.warning("cannot read the overlay %s left by a snapshot cut short: %s", path, error)
            return None


def _tagged(path: str, tag: str) -> bool:
    return is_our_overlay(path) and overlay_path(path, tag) == path


def _has_snapshot(domain: libvirt.virDomain, name: str) -> bool:
    try:
        domain.snapshotLookupByName(name, 0)
    except libvirt.libvirtError:
        return False
    return True


def _await_domain_job(domain: libvirt.virDomain, timeout: float = JOB_WAIT_SECONDS) -> None:
    """Until libvirtd has no job running on the domain (or `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if domain.jobInfo()[0] == libvirt.VIR_DOMAIN_JOB_NONE:
                return
        except libvirt.libvirtError:
            return  # a driver without job information, or the domain went
        time.sleep(0.2)
    log.warning("libvirt still runs a job on %s; settling the snapshot anyway", domain.name())


__all__ = ["UnfinishedSnapshotCleanup"]
