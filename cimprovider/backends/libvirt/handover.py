"""Handing an off or saved VM from one KVM host to another as a record and
files (libvirt copies no storage for an offline migration): the source
gives its domain's definition, with a saved VM's managed save file; the
destination defines the domain with the disk paths placed and, for a
saved VM, restores the memory image paused and saves it again as its own
managed save, so the VM arrives saved. External snapshots' overlays and
memory files travel as files too (see migration_files); the destination
keeps the memory files in its own folder and redefines the snapshots with
the paths placed. While it moves the VM refuses every change (`hold_vm`). A running VM moves live instead (see migration).

On one host, `relocate_vm` points an off or saved VM at moved files (its
managed save image and its snapshots' descriptions too); a running VM's
disks need a block copy (see block_copy)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import libvirt
from lxml import etree

from cimprovider.backends.errors import InvalidParameterError, InvalidStateError
from cimprovider.backends.libvirt.migration import with_disks_placed
from cimprovider.backends.libvirt.snapshot_xml import is_external, memory_file
from cimprovider.schemas.migration import MigratingVm
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.vm import VirtualMachine

if TYPE_CHECKING:
    from cimprovider.backends.libvirt.backend import LibvirtBackend

DEFINITION_FLAGS = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE | libvirt.VIR_DOMAIN_XML_MIGRATABLE
_LIVE = (PowerState.RUNNING, PowerState.PAUSED)


class LibvirtHandover:
    def migration_record(self: "LibvirtBackend", vm_id: UUID) -> MigratingVm:
        vm = self.get_vm(vm_id)
        domain = self._domain(vm_id)
        snapshots, current = self._snapshot_definitions(domain, vm_id, external=True)
        definition = self._call(lambda: domain.XMLDesc(DEFINITION_FLAGS), "read the VM")
        saved = self._saved_image(domain, vm) if vm.power_state is PowerState.SAVED else None
        # External snapshots' overlays and memory files, confined (see migration_files).
        _, owned, memories = self._snapshot_files(domain)
        return MigratingVm(vm=vm, definition=definition, saved_state=saved, snapshots=tuple(self.list_snapshots(vm_id)),
                           snapshot_definitions=snapshots, current_snapshot=current,
                           snapshot_disks=tuple(p for p in dict.fromkeys(owned) if Path(p).is_file()),
                           snapshot_memory=tuple(memories))

    def _snapshot_definitions(self: "LibvirtBackend", domain: libvirt.virDomain, vm_id: UUID,
                              external: bool = False) -> tuple[tuple[str, ...], str | None]:
        """Each snapshot's XML, parents first, and the current one's name.
        Internal snapshots live inside the qcow2 disks, which travel; an
        external one's files travel beside them (see migration_files), so
        only a caller that carries them passes `external`."""
        found = self._call(lambda: domain.listAllSnapshots(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL),
                           "list the VM's snapshots")
        definitions = []
        for snapshot in found:
            xml = self._call(lambda s=snapshot: s.getXMLDesc(libvirt.VIR_DOMAIN_SNAPSHOT_XML_SECURE), "read a snapshot")
            if not external and is_external(etree.fromstring(xml)):
                raise InvalidStateError(f"VM {vm_id}: its snapshot {snapshot.getName()} is external (overlays beside its "
                                        "disks, not qcow2 snapshots inside them), which does not move between KVM hosts; "
                                        "delete it or convert the disks to qcow2 before taking snapshots")
            definitions.append(xml)
        current = None
        if definitions and self._call(lambda: domain.hasCurrentSnapshot(0), "read the current snapshot"):
            current = self._call(lambda: domain.snapshotCurrent(0).getName(), "read the current snapshot")
        return tuple(definitions), current

    def _saved_image(self: "LibvirtBackend", domain: libvirt.virDomain, vm: VirtualMachine) -> str:
        """libvirt names no managed save file: it is `<name>.save` in its save directory."""
        name = self._call(domain.name, "read the VM's name")
        image = Path(self._config.libvirt_save_dir) / f"{name}.save"
        if not image.is_file():
            raise InvalidStateError(f"VM {vm.id} is saved but its memory image {image} cannot be read here "
                                    "(is --libvirt-save-dir the hypervisor's save directory?)")
        return str(image)

    def adopt_vm(self: "LibvirtBackend", record: MigratingVm) -> VirtualMachine:
        vm_id = record.vm.id
        if record.definition is None:
            raise InvalidParameterError("record", f"VM {vm_id} comes without a libvirt domain definition")
        if record.vm.power_state in _LIVE:
            raise InvalidStateError(f"VM {vm_id} is {record.vm.power_state.value}: a running VM moves live")
        with self._lock:
            self._check_open()
            if self._read(vm_id) is not None:
                raise InvalidStateError(f"a VM {vm_id} already exists")
            xml = with_disks_placed(record.definition, record.placed_paths)
            # Defined off, restored paused, saved: none of that is the VM's
            # state, so it is not shown (nor published) until it is whole.
            self._arriving.add(vm_id)
            try:
                self._make_arriving(record, xml)
            finally:
                self._arriving.discard(vm_id)
            return self._published(vm_id)

    def _make_arriving(self: "LibvirtBackend", record: MigratingVm, xml: str) -> None:
        domain = self._call(lambda: self._conn().defineXML(xml), f"define the arriving VM {record.vm.id}")
        kept: list[str] = []
        try:
            definitions = tuple(self._memory_kept(record.vm.id, with_disks_placed(x, record.placed_paths), kept)
                                for x in record.snapshot_definitions)
            self._redefine_snapshots(domain, definitions, record.current_snapshot, {})
            if record.saved_state is not None:
                self._restore_saved(domain, record.saved_state, record.placed_paths)
        except Exception:
            flags = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
            self._call(lambda: domain.undefineFlags(flags), "drop the arriving VM")
            for memory in kept:
                self._remove_memory(memory)
            raise
        if record.saved_state is not None:
            Path(record.saved_state).unlink(missing_ok=True)

    def _redefine_snapshots(self: "LibvirtBackend", domain: libvirt.virDomain, definitions: tuple[str, ...],
                            current: str | None, placed_paths: dict[str, str]) -> None:
        """The snapshots' metadata, parents first, their disk paths placed;
        their data came inside the disks."""
        for xml in definitions:
            placed = with_disks_placed(xml, placed_paths)
            name = etree.fromstring(placed).findtext("name")
            flags = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE
            if name == current:
                flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT
            self._call(lambda x=placed, f=flags: domain.snapshotCreateXML(x, f), f"redefine the snapshot {name}")

    def _restore_saved(self: "LibvirtBackend", domain: libvirt.virDomain, image: str, placed: dict[str, str]) -> None:
        """The image names the source's disk paths; it is restored with
        them placed, paused (the guest runs no code), then saved again as
        this hypervisor's managed save."""
        conn = self._conn()
        live = with_disks_placed(self._call(lambda: conn.saveImageGetXMLDesc(image, libvirt.VIR_DOMAIN_XML_SECURE),
                                  f"read the saved image {image}"), placed)
        self._call(lambda: conn.restoreFlags(image, live, libvirt.VIR_DOMAIN_SAVE_PAUSED), f"restore {image}")
        try:
            self._call(lambda: domain.managedSave(0), "save the arriving VM")
        except Exception:
            self._call(domain.destroy, "stop the arriving VM")
            raise

    def release_vm(self: "LibvirtBackend", vm_id: UUID) -> None:
        with self._lock:
            domain = self._domain(vm_id)
            if self._call(domain.isActive, "read the VM's state"):
                self._call(domain.destroy, "stop the VM")
            flags = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                     | libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM)
            # The snapshots' memory files went with the VM (or, half made here, stay with its source).
            memories = self._memory_files(domain)
            self._call(lambda: domain.undefineFlags(flags), "release the VM")
            for memory in memories:
                self._remove_memory(memory)
            self._migrating.pop(vm_id, None)
            self._refresh(vm_id)

    def _memory_files(self: "LibvirtBackend", domain: libvirt.virDomain) -> list[str]:
        found = self._call(lambda: domain.listAllSnapshots(0), "list the VM's snapshots")
        named = [memory_file(etree.fromstring(self._call(lambda s=s: s.getXMLDesc(0), "read a snapshot"))) for s in found]
        return [path for path in named if path is not None]

    def hold_vm(self: "LibvirtBackend", vm_id: UUID, reason: str = "the VM is migrating to another host",
                again: bool = False) -> None:
        with self._lock:
            if not (again and vm_id in self._migrating):
                self._idle_vm(vm_id, "migrate the VM")
            self._migrating[vm_id] = reason
            self._refresh(vm_id)  # the VM read again shows the hold, published at once

    def unhold_vm(self: "LibvirtBackend", vm_id: UUID) -> None:
        with self._lock:
            self.settle_set_aside(vm_id)  # a move a restart cut short stays here: its snapshots come back
            if self._migrating.pop(vm_id, None) is not None:
                self._refresh(vm_id)

    def relocate_vm(self: "LibvirtBackend", record: MigratingVm) -> VirtualMachine:
        vm_id = record.vm.id
        with self._lock:
            vm = self.get_vm(vm_id)
            if vm.power_state is not record.vm.power_state:
                raise InvalidStateError(f"VM {vm_id} changed from {record.vm.power_state.value} to {vm.power_state.value}")
            if vm.power_state in _LIVE:
                raise InvalidStateError(f"VM {vm_id} is {vm.power_state.value}: its disks cannot be switched on this host")
            domain = self._domain(vm_id)
            moved = {old: new for old, new in record.placed_paths.items() if old != new}
            xml = with_disks_placed(self._call(lambda: domain.XMLDesc(DEFINITION_FLAGS), "read the VM"), moved)
            self._call(lambda: self._conn().defineXML(xml), "point the VM at its moved files")
            if vm.power_state is PowerState.SAVED:
                saved = self._call(lambda: domain.managedSaveGetXMLDesc(libvirt.VIR_DOMAIN_XML_SECURE), "read the saved VM")
                self._call(lambda: domain.managedSaveDefineXML(with_disks_placed(saved, moved), 0), "point the saved VM at its moved files")
            # Each snapshot names the files it froze, its overlay and its memory file: redefined with their new paths.
            self._redefine_snapshots(domain, record.snapshot_definitions, record.current_snapshot, moved)
            return self._published(vm_id)

