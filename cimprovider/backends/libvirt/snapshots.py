"""`SnapshotBackend` on libvirt: Hyper-V's checkpoints as libvirt
snapshots (see `snapshot_xml` for how they are written).

Applying an internal snapshot is libvirt's revert. Applying an external
one is done here (`external_snapshots`), as libvirt 9.0 cannot revert external snapshots: the VM
gets its definition from the snapshot and fresh qcow2 overlays on the
frozen disks, so what was written since is gone, and the overlays it ran
on are deleted when no snapshot reads them. Destroying a snapshot is
libvirt's delete, which for an external snapshot block-commits its overlay
where libvirt can; where it cannot (libvirt 9.0 with children, say) only
the metadata goes and the chain stays, since the VM still reads it.
Hyper-V's "saved" end state for a snapshot with memory is a managed save
of the reverted, paused guest.

Overlays are made beside the disks they freeze and committed into them, so
every disk (with its whole chain) is confined to the storage roots before
qemu-img or libvirt touches it: a domain defined elsewhere whose disks lie
outside them gets no external snapshot, and no file outside is written or
deleted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from uuid import UUID, uuid4

import libvirt
from lxml import etree

from cimprovider.backends.errors import InvalidParameterError, InvalidStateError, NotFoundError
from cimprovider.backends.libvirt.connection import LibvirtConnection
from cimprovider.backends.libvirt.disk_images import declared_formats
from cimprovider.backends.libvirt.domain_read import read_vm
from cimprovider.backends.libvirt.errors import translate
from cimprovider.backends.libvirt.external_snapshots import MEMORY_FOLDER, ExternalSnapshots
from cimprovider.backends.libvirt.snapshot_xml import (
    POSITION_NAMESPACE,
    POSITION_PREFIX,
    SnapshotExtras,
    frozen_files,
    holds_memory,
    internal_snapshot_xml,
    is_external,
    memory_file,
    overlay_files,
    parse_extras,
    parse_last_applied,
    position_xml,
    renamed,
    snapshot_id,
)
from cimprovider.backends.protocol import ProgressCallback
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.snapshots import Snapshot, SnapshotKind, SnapshotPosition
from cimprovider.schemas.vm import VirtualMachine


log = logging.getLogger(__name__)

INACTIVE = libvirt.VIR_DOMAIN_XML_INACTIVE
_CANNOT_DELETE = frozenset(
    {libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_CONFIG_UNSUPPORTED, libvirt.VIR_ERR_OPERATION_UNSUPPORTED, libvirt.VIR_ERR_OPERATION_INVALID}
)
CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG
S = libvirt.virDomainSnapshot


class SnapshotOperations(ExternalSnapshots):
    # Provided by LibvirtBackend (declared here, so this mixin needs no import of it).
    _lock: threading.RLock
    _connection: LibvirtConnection
    _domain: Callable[[UUID], libvirt.virDomain]
    _call: Callable[..., Any]
    _check_open: Callable[[], None]
    _idle_vm: Callable[[UUID, str], VirtualMachine]
    _published: Callable[[UUID], VirtualMachine]
    _read: Callable[[UUID], VirtualMachine | None]
    _define: Callable[[libvirt.virDomain, VirtualMachine], None]
    get_vm: Callable[[UUID], VirtualMachine]
    list_vms: Callable[[], list[VirtualMachine]]

    # listing ------------------------------------------------------------

    def list_snapshots(self, vm_id: UUID | None = None) -> list[Snapshot]:
        vm_ids = [vm_id] if vm_id is not None else [vm.id for vm in self.list_vms()]
        found: list[Snapshot] = []
        for each in vm_ids:
            domain = self._domain(each)
            found += [self._snapshot(domain, snap) for snap in self._call(lambda: domain.listAllSnapshots(0), "list snapshots")]
        return sorted(found, key=lambda snapshot: snapshot.created_at)

    def get_snapshot(self, snapshot_id: UUID) -> Snapshot:
        domain, snap = self._find_snapshot(snapshot_id)
        return self._snapshot(domain, snap)

    def snapshot_position(self, vm_id: UUID) -> SnapshotPosition:
        domain = self._domain(vm_id)
        current = None
        try:
            if domain.hasCurrentSnapshot(0):
                current = snapshot_id(vm_id, domain.snapshotCurrent(0).getName())
        except libvirt.libvirtError:
            current = None
        try:
            text = domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, POSITION_NAMESPACE, INACTIVE)
        except libvirt.libvirtError:
            text = None
        return SnapshotPosition(vm_id=vm_id, current_id=current, last_applied_id=parse_last_applied(text))

    # changing -----------------------------------------------------------

    def create_snapshot(
        self,
        vm_id: UUID,
        name: str | None = None,
        kind: SnapshotKind = SnapshotKind.STANDARD,
        snapshot_id: UUID | None = None,
        progress: ProgressCallback | None = None,
    ) -> Snapshot:
        with self._lock:
            self._check_open()
            vm = self._idle_vm(vm_id, "take a snapshot")
            new_id = snapshot_id or uuid4()
            now = datetime.now(timezone.utc)
            extras = SnapshotExtras(name or f"{vm.name} - ({now:%m/%d/%Y - %H:%M:%S})", kind, now)
            if not 1 <= len(extras.name) <= 100:
                raise InvalidParameterError("name", "a snapshot name has 1 to 100 characters")
            domain = self._domain(vm_id)
            disks = self._model_disks(domain, vm)
            if self._images.local:
                # Internal snapshots are written into the disks, external
                # ones beside them: either way, only inside the roots.
                for path, _ in disks.values():
                    if path:
                        self._images.vetted(path)
            running = self._call(domain.isActive, "read the VM's state")
            if all(fmt == "qcow2" for _, fmt in disks.values()):
                xml, flags = internal_snapshot_xml(str(new_id), extras), 0
                try:
                    snap = domain.snapshotCreateXML(xml, flags)
                except libvirt.libvirtError as error:
                    # QEMU keeps a running guest's memory inside a qcow2 disk
                    # of its own; a VM without one keeps it in a file.
                    holder = any(path for path, _ in disks.values())
                    if not running or holder or not self._images.local:
                        raise translate(error, "take a snapshot", self._connection) from None
                    xml, flags = self._external_snapshot(vm_id, new_id, extras, disks, running, memory=True)
                    snap = self._call(lambda: domain.snapshotCreateXML(xml, flags), "take a snapshot")
            elif not self._images.local:
                # Applying or merging an external snapshot makes and commits
                # overlays with qemu-img beside the disks: a remote host's files.
                others = sorted(path for path, fmt in disks.values() if path and fmt != "qcow2")
                raise InvalidStateError(
                    f"cannot take a snapshot of a VM on the remote libvirt host {self._connection.uri}: its disks"
                    f" {', '.join(others)} are not qcow2 (convert them to qcow2 on that host first)"
                )
            else:
                memory = running and kind is not SnapshotKind.PRODUCTION
                xml, flags = self._external_snapshot(vm_id, new_id, extras, disks, running, memory)
                snap = self._call(lambda: domain.snapshotCreateXML(xml, flags), "take a snapshot")
            self._keep_media_ids(domain, vm)
            self._published(vm_id)
            if progress is not None:
                progress(100)
            return self._snapshot(domain, snap)

    def apply_snapshot(self, snapshot_id: UUID, progress: ProgressCallback | None = None) -> VirtualMachine:
        with self._lock:
            self._check_open()
            domain, snap = self._find_snapshot(snapshot_id)
            vm = self._idle_vm(UUID(domain.UUIDString()), "apply a snapshot")
            if vm.power_state not in (PowerState.OFF, PowerState.SAVED):
                raise InvalidStateError(f"cannot apply a snapshot while the VM is {vm.power_state.value}; turn it off or save it")
            xml = etree.fromstring(snap.getXMLDesc(0))
            keep_memory = holds_memory(xml) and parse_extras(xml).kind is not SnapshotKind.PRODUCTION

            def apply() -> None:
                if domain.hasManagedSaveImage(0):
                    domain.managedSaveRemove(0)
                if is_external(xml):
                    self._apply_external(domain, snap, xml, keep_memory)
                elif holds_memory(xml):
                    domain.revertToSnapshot(snap, libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED)
                    # Saved from the paused revert, but started later as
                    # running: without the flag the restore stays paused.
                    domain.managedSave(libvirt.VIR_DOMAIN_SAVE_RUNNING) if keep_memory else domain.destroy()
                else:
                    domain.revertToSnapshot(snap, 0)
                self._set_last_applied(domain, snapshot_id)

            self._call(apply, "apply the snapshot")
            if progress is not None:
                progress(100)
            return self._published(vm.id)

    def destroy_snapshot(self, snapshot_id: UUID, tree: bool = False) -> None:
        with self._lock:
            self._check_open()
            domain, snap = self._find_snapshot(snapshot_id)
            self._idle_vm(UUID(domain.UUIDString()), "destroy a snapshot")
            doomed = [snap] + (list(snap.listAllChildren(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS)) if tree else [])
            xmls = [etree.fromstring(each.getXMLDesc(0)) for each in doomed]
            overlays = {path for xml in xmls for path in overlay_files(xml)}
            frozen = {path for xml in xmls for path in frozen_files(xml)}
            memories = {path for xml in xmls if (path := memory_file(xml)) is not None}
            flags = libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN if tree else 0

            def delete() -> None:
                if memories and not frozen:
                    # Memory alone: nothing for libvirt to merge, and
                    # libvirt 9.0 cannot delete it; the file goes below.
                    try:
                        snap.delete(flags | libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)
                    except libvirt.libvirtError as error:
                        if error.get_error_code() not in _CANNOT_DELETE:
                            raise
                        snap.delete(flags)  # a driver without metadata-only deletion (the test driver)
                    return
                try:
                    snap.delete(flags)
                except libvirt.libvirtError as error:
                    if error.get_error_code() not in _CANNOT_DELETE or not (frozen or memories):
                        raise
                    # libvirt cannot commit this chain (we rewrote it when the
                    # snapshot was applied): forget the snapshot, commit here.
                    snap.delete(flags | libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)
                    if frozen and not domain.isActive():
                        self._commit_into_frozen(domain, frozen)

            self._call(delete, "destroy the snapshot")
            for path in memories:
                self._remove_memory(path)
            self._forget_unread(domain, overlays)
            self._published(UUID(domain.UUIDString()))

    def rename_snapshot(self, snapshot_id: UUID, name: str) -> Snapshot:
        if not 1 <= len(name) <= 100:
            raise InvalidParameterError("name", "a snapshot name has 1 to 100 characters")
        with self._lock:
            domain, snap = self._find_snapshot(snapshot_id)
            current = domain.hasCurrentSnapshot(0) and domain.snapshotCurrent(0).getName() == snap.getName()
            flags = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | (libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT if current else 0)
            xml = renamed(etree.fromstring(snap.getXMLDesc(libvirt.VIR_DOMAIN_SNAPSHOT_XML_SECURE)), name)
            redefined = self._call(lambda: domain.snapshotCreateXML(xml, flags), "rename the snapshot")
            return self._snapshot(domain, redefined)

    # plumbing -----------------------------------------------------------

    def _snapshot(self, domain: libvirt.virDomain, snap: S) -> Snapshot:
        xml = etree.fromstring(snap.getXMLDesc(0))
        vm_id = UUID(domain.UUIDString())
        extras = parse_extras(xml)
        parent = xml.findtext("parent/name")
        kept = xml.find("domain")
        networks = {n.name(): UUID(n.UUIDString()) for n in self._conn().listAllNetworks()}
        vm = read_vm(kept, kept, PowerState.OFF, networks) if kept is not None else self.get_vm(vm_id)
        return Snapshot(
            id=snapshot_id(vm_id, snap.getName()),
            vm_id=vm_id,
            name=extras.name[:100],
            kind=extras.kind,
            parent_id=snapshot_id(vm_id, parent) if parent else None,
            created_at=extras.created_at,
            vm=vm.model_copy(update={"id": vm_id}),
            has_saved_state=holds_memory(xml) and extras.kind is not SnapshotKind.PRODUCTION,
            frozen_disks=frozen_files(xml),
        )

    def _find_snapshot(self, wanted: UUID) -> tuple[libvirt.virDomain, S]:
        for domain in self._call(lambda: self._conn().listAllDomains(), "list domains"):
            vm_id = UUID(domain.UUIDString())
            for snap in self._call(lambda: domain.listAllSnapshots(0), "list snapshots"):
                if snapshot_id(vm_id, snap.getName()) == wanted:
                    return domain, snap
        raise NotFoundError(f"no snapshot {wanted}")

    def _model_disks(self, domain: libvirt.virDomain, vm: VirtualMachine) -> dict[str, tuple[str | None, str]]:
        """Every disk of the domain: target → (its file if a snapshot should
        freeze it, else None; its driver format)."""
        xml = etree.fromstring(domain.XMLDesc(0))
        declared = declared_formats(xml)
        disks: dict[str, tuple[str | None, str]] = {}
        for disk in xml.iterfind("devices/disk"):
            target, source = disk.find("target"), disk.find("source")
            if target is None:
                continue
            path = source.get("file") if source is not None else None
            if disk.get("device") != "disk" or disk.find("readonly") is not None or not path:
                disks[target.get("dev")] = (None, "qcow2")  # a DVD or an empty drive: nothing to freeze
            else:
                disks[target.get("dev")] = (path, self._images.driver_format(path, declared))
        return disks

    def _keep_media_ids(self, domain: libvirt.virDomain, before: VirtualMachine) -> None:
        """Moved onto overlays, the drives keep their media ids (the CIM
        side's instance ids): the metadata now names the new files."""
        moved = self._read(before.id)
        if moved is None:
            return
        ids = {drive.id: drive.media.id for drive in before.drives if drive.media is not None}
        drives = tuple(
            d.replace(media=d.media.replace(id=ids[d.id])) if d.media is not None and d.id in ids else d for d in moved.drives
        )
        if drives != moved.drives:
            self._define(domain, moved.replace(drives=drives))

    def _remove_memory(self, path: str) -> None:
        """A snapshot's memory file goes only if it lies where this server
        keeps them: a snapshot redefined elsewhere may name any file."""
        kept = self._kept_memory_file(path)
        if kept is None:
            log.warning("kept %s, the memory file of a destroyed snapshot: neither in %s nor a .save file inside the "
                        "storage roots", path, self._config.data_dir / MEMORY_FOLDER)
            return
        kept.unlink(missing_ok=True)

    def _set_last_applied(self, domain: libvirt.virDomain, applied: UUID) -> None:
        domain.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, position_xml(applied), POSITION_PREFIX, POSITION_NAMESPACE, CONFIG)
