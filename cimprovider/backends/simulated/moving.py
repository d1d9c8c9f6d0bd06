"""Migration for the simulated host (the `MigrationBackend` contract): a
VM leaves as one record — its document, start time, snapshots, position in
the snapshot tree and the snapshot disks the backend made — and arrives in
one transaction, so a host killed at any instant either has the whole VM
or none of it. A mixin of SimulatedBackend: it uses the backend's lock,
store and in-memory model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from cimprovider.backends.errors import InvalidStateError
from cimprovider.schemas.events import VmDefined, VmDestroyed, VmModified
from cimprovider.schemas.migration import MigratingVm
from cimprovider.schemas.vm import VirtualMachine

if TYPE_CHECKING:
    from cimprovider.backends.simulated.store import SimulatedStore


class MigrationOperations:
    # Provided by SimulatedBackend and its snapshot mixin.
    _lock: Any
    _store: "SimulatedStore"
    _vms: dict[UUID, VirtualMachine]
    _started_at: dict[UUID, float]
    _busy: dict[UUID, Any]
    _held: dict[UUID, str]
    _snapshots: dict[UUID, Any]
    _positions: dict[UUID, Any]
    _snapshot_disks: dict[str, UUID]
    events: Any
    _check_open: Any
    get_vm: Any
    list_snapshots: Any
    _drop_vm_snapshots: Any

    def migration_record(self, vm_id: UUID) -> MigratingVm:
        with self._lock:
            vm = self.get_vm(vm_id)
            if vm_id in self._busy:
                raise InvalidStateError(f"VM {vm_id} is changing its power state; migrate it once that is done")
            return MigratingVm(
                vm=vm,
                started_at=self._started_at.get(vm_id),
                snapshots=tuple(self.list_snapshots(vm_id)),
                position=self._positions.get(vm_id),
                snapshot_disks=tuple(path for path, owner in self._snapshot_disks.items() if owner == vm_id),
            )

    def hold_vm(self, vm_id: UUID, reason: str = "the VM is migrating", again: bool = False) -> None:
        with self._lock:
            self.get_vm(vm_id)
            if vm_id in self._busy:
                raise InvalidStateError(f"VM {vm_id} is changing its power state; migrate it once that is done")
            if vm_id in self._held and not again:
                raise InvalidStateError(f"VM {vm_id} is already migrating")
            self._held[vm_id] = reason
            self._show_hold(vm_id, reason)

    def unhold_vm(self, vm_id: UUID) -> None:
        with self._lock:
            self._held.pop(vm_id, None)
            self._show_hold(vm_id, "")

    def _show_hold(self, vm_id: UUID, reason: str) -> None:
        """The VM as the model sees it says why it is held (or nothing once
        free), published at once: a client sees the hold the moment every
        change starts being refused, and its end the moment they are not."""
        vm = self._vms.get(vm_id)
        if vm is None or vm.held == reason:
            return
        self._vms[vm_id] = vm.model_copy(update={"held": reason})
        self.events.publish(VmModified(previous=vm, vm=self._vms[vm_id]))

    def adopt_vm(self, record: MigratingVm) -> VirtualMachine:
        vm = record.vm
        with self._lock:
            self._check_open()
            if vm.id in self._vms:
                raise InvalidStateError(f"a VM {vm.id} already exists on this host")
            with self._store.transaction() as db:
                self._store.put_vm(db, str(vm.id), vm.model_dump_json(), record.started_at)
                for snapshot in record.snapshots:
                    self._store.put_snapshot(db, str(snapshot.id), str(vm.id), snapshot.model_dump_json())
                if record.position is not None:
                    self._store.put_snapshot_position(db, str(vm.id), record.position.model_dump_json())
                for path in record.snapshot_disks:
                    self._store.put_snapshot_disk(db, path, str(vm.id))
            self._vms[vm.id] = vm
            if record.started_at is not None:
                self._started_at[vm.id] = record.started_at
            for snapshot in record.snapshots:
                self._snapshots[snapshot.id] = snapshot
            if record.position is not None:
                self._positions[vm.id] = record.position
            for path in record.snapshot_disks:
                self._snapshot_disks[path] = vm.id
            self.events.publish(VmDefined(vm=vm))
            return vm

    def release_vm(self, vm_id: UUID) -> None:
        with self._lock:
            self._check_open()
            vm = self.get_vm(vm_id)
            with self._store.transaction() as db:
                self._store.delete_vm(db, str(vm_id))
                self._drop_vm_snapshots(db, vm_id)
            del self._vms[vm_id]
            self._started_at.pop(vm_id, None)
            self._busy.pop(vm_id, None)
            self._held.pop(vm_id, None)
            self.events.publish(VmDestroyed(vm=vm))

    def relocate_vm(self, record: MigratingVm) -> VirtualMachine:
        vm = record.vm
        with self._lock:
            self._check_open()
            current = self.get_vm(vm.id)
            if vm.id in self._busy or current.power_state != vm.power_state:
                raise InvalidStateError(f"VM {vm.id} changed its power state while its storage moved")
            if {s.id for s in self.list_snapshots(vm.id)} != {s.id for s in record.snapshots}:
                raise InvalidStateError(f"VM {vm.id} gained or lost snapshots while its storage moved")
            with self._store.transaction() as db:
                self._store.put_vm(db, str(vm.id), vm.model_dump_json(), self._started_at.get(vm.id))
                for snapshot in record.snapshots:
                    self._store.put_snapshot(db, str(snapshot.id), str(vm.id), snapshot.model_dump_json())
                for path in [p for p, owner in self._snapshot_disks.items() if owner == vm.id]:
                    self._store.delete_snapshot_disk(db, path)
                for path in record.snapshot_disks:
                    self._store.put_snapshot_disk(db, path, str(vm.id))
            self._vms[vm.id] = vm
            for snapshot in record.snapshots:
                self._snapshots[snapshot.id] = snapshot
            for path in [p for p, owner in self._snapshot_disks.items() if owner == vm.id]:
                del self._snapshot_disks[path]
            for path in record.snapshot_disks:
                self._snapshot_disks[path] = vm.id
            self.events.publish(VmModified(previous=current, vm=vm))
            return vm
