"""The source's side of a migration the hypervisor carries itself (libvirt),
persisted per VM as the upload flow is (see outgoing):

    preparing → sending (files up, then the hypervisors move the VM) → committing → done

The destination checks the offer (the VM and where each disk lands), makes
the empty images and answers with its hypervisor's URI. A qcow2 disk that
holds internal snapshots goes first as a file, copied here as it stands
and uploaded over the authenticated channel (see snapshot_images): the
destination empties its active layer and the hypervisor copies the disk
into it, so the snapshots arrive inside it. The source's hypervisor then
moves the running VM there, disks copied, persisted there and undefined
here; the destination confirms it has the VM and redefines its snapshots;
only then does the source delete its copies of the disks. The VM is held
meanwhile (no snapshot is taken or deleted, no power change). A failure
before the move leaves the VM running here, with its snapshots, and has
the destination drop its images."""

from __future__ import annotations

import logging
from pathlib import Path
from uuid import UUID

from cimprovider.backends import HypervisorMigration, MigrationBackend
from cimprovider.backends.images import StorageRoots
from cimprovider.backends.images.errors import PathOutsideStorageError
from cimprovider.jobs import CancelToken, JobCancelled, ProgressReporter
from cimprovider.migration.client import PeerRefused, PeerUnreachable
from cimprovider.migration.offer import Placement, placed_record
from cimprovider.migration.outgoing import COMMITTING, PREPARING, SENDING, MigrationFailed, OutgoingMigrations
from cimprovider.migration.offer import sha256_of
from cimprovider.migration.snapshot_images import staged_copy
from cimprovider.migration.store import Outgoing
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.migration import FileSlot, MigratingDisk, MigratingVm, MigrationOffer, MigrationRequest

log = logging.getLogger("cimprovider.migration")
UNSTAGED = "0" * 64  # a check offers the files without reading them


class HypervisorMoves:
    def __init__(self, outgoing: OutgoingMigrations, backend: HypervisorMigration, roots: StorageRoots) -> None:
        self.outgoing = outgoing
        self.backend = backend
        self.roots = roots

    def carries(self, vm_id: UUID) -> bool:
        """True for a VM the hypervisor moves itself: one that runs or is
        paused (an unknown VM too, so the move fails naming it)."""
        try:
            vm = self.backend.get_vm(vm_id)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - the move itself reports it
            return True
        return vm.power_state in (PowerState.RUNNING, PowerState.PAUSED)

    def offer(self, request: MigrationRequest, staged: list[Path] | None = None) -> tuple[MigrationOffer, list[MigratingDisk]]:
        """The offer, and the disks at their paths here. Given `staged`, the
        disks that hold snapshots are copied for upload (the copies are
        appended to it, in the order of the offer's files)."""
        if any(o.vm_id == request.vm_id for o in self.outgoing.store.outgoing()):
            raise MigrationFailed([f"the virtual machine {request.vm_id} is already migrating"])
        try:
            disks = self.backend.migration_disks(request.vm_id)
            record = self._record(request.vm_id, disks)
        except Exception as error:  # noqa: BLE001 - the backend's NotFound/InvalidState say why
            raise MigrationFailed([str(error)]) from None
        place = Placement(request.placements)
        placed = placed_record(record, place).model_copy(update={"placed_paths": {d.path: place(d.path) for d in disks}})
        offer = MigrationOffer(
            source_host=self.outgoing.host_name, backend=self.outgoing.backend_name, record=placed,
            disks=tuple(d.model_copy(update={"path": place(d.path)}) for d in disks),
            files=tuple(self._slot(d, place(d.path), staged) for d in disks if d.snapshots),
        )
        return offer, disks

    def _record(self, vm_id: UUID, disks: list[MigratingDisk]) -> MigratingVm:
        """The VM, with its snapshots when its disks carry some."""
        vm = self.backend.get_vm(vm_id)  # type: ignore[attr-defined]
        if not any(d.snapshots for d in disks) or not isinstance(self.backend, MigrationBackend):
            return MigratingVm(vm=vm)
        full = self.backend.migration_record(vm_id)
        return MigratingVm(vm=vm, snapshots=full.snapshots, position=full.position,
                           snapshot_definitions=full.snapshot_definitions, current_snapshot=full.current_snapshot)

    def _slot(self, disk: MigratingDisk, placed: str, staged: list[Path] | None) -> FileSlot:
        try:
            source = self.roots.confine(disk.path, "disk path")
        except PathOutsideStorageError as error:
            raise MigrationFailed([f"{disk.path} holds snapshots but cannot be copied beside itself: {error}"]) from None
        if staged is None:
            return FileSlot(path=placed, size=source.stat().st_size, sha256=UNSTAGED)
        copy = staged_copy(source)
        staged.append(copy)
        return FileSlot(path=placed, size=copy.stat().st_size, sha256=sha256_of(str(copy)))

    def check(self, request: MigrationRequest) -> list[str]:
        try:
            offer, _ = self.offer(request)
            self.outgoing.client(request.destination, request.destination_addresses).accept(offer, check_only=True)
        except (MigrationFailed, PeerRefused) as failure:
            return failure.reasons
        except PeerUnreachable as error:
            return [f"the destination host cannot be reached: {error}"]
        return []

    def migrate(self, request: MigrationRequest, progress: ProgressReporter, cancel: CancelToken) -> None:
        slots = self.outgoing.slots
        slots.acquire(cancel, request.priority)
        try:
            self._hold(request.vm_id)
            try:
                self._migrate(request, progress, cancel)
            finally:
                if isinstance(self.backend, MigrationBackend):
                    self.backend.unhold_vm(request.vm_id)
        finally:
            slots.release()

    def _hold(self, vm_id: UUID) -> None:
        """No snapshot taken or deleted, no power change, while it moves: the
        snapshots read from its disks must be the ones it has."""
        if not isinstance(self.backend, MigrationBackend):
            return
        try:
            self.backend.hold_vm(vm_id)
        except Exception as error:  # noqa: BLE001 - NotFound/InvalidState say why
            raise MigrationFailed([str(error)]) from None

    def _migrate(self, request: MigrationRequest, progress: ProgressReporter, cancel: CancelToken) -> None:
        staged: list[Path] = []
        try:
            offer, disks = self.offer(request, staged)
            self._move(request, offer, disks, staged, progress, cancel)
        finally:
            for copy in staged:
                copy.unlink(missing_ok=True)

    def _move(self, request: MigrationRequest, offer: MigrationOffer, disks: list[MigratingDisk], staged: list[Path],
              progress: ProgressReporter, cancel: CancelToken) -> None:
        client = self.outgoing.client(request.destination, request.destination_addresses)
        placements = {d.path: placed.path for d, placed in zip(disks, offer.disks)}
        keep = () if request.retain_source_copies else self._deletable(placements)
        store = self.outgoing.store
        store.put_outgoing(Outgoing(request.vm_id, PREPARING, request.destination, None, keep))
        token: str | None = None
        try:
            token, uri = client.accept(offer)
            if not token or not uri:
                raise MigrationFailed(["the destination host does not move VMs through its hypervisor"])
            store.put_outgoing(Outgoing(request.vm_id, SENDING, request.destination, token, keep))
            progress(5)
            for index, copy in enumerate(staged):
                client.upload(token, index, copy, lambda _: cancel.raise_if_cancelled())
            cancel.raise_if_cancelled()  # the last moment a cancel can stop the move
            progress(10)
            try:
                self.backend.migrate_to(request.vm_id, uri, placements, progress)
            except Exception as error:  # noqa: BLE001 - the hypervisor's reason; the VM stays here
                raise MigrationFailed([f"the hypervisor could not move the VM: {error}"]) from None
            store.put_outgoing(Outgoing(request.vm_id, COMMITTING, request.destination, token, keep))
            client.commit(token)
        except PeerUnreachable as error:
            if self.outgoing.resolve(self.outgoing.store_record(request.vm_id), client):
                progress(100)
                return
            raise MigrationFailed([f"the destination host failed: {error}; the VM stays here"]) from None
        except (PeerRefused, MigrationFailed) as failure:
            self.outgoing.undo(request.vm_id, client, token)
            raise MigrationFailed(failure.reasons) from None
        except JobCancelled:
            self.outgoing.undo(request.vm_id, client, token)
            raise
        self.outgoing.finish(request.vm_id, keep)
        progress(100)

    def _deletable(self, placements: dict[str, str]) -> tuple[str, ...]:
        """The source's disks to delete once the destination has the VM:
        those inside this host's storage roots that did not stay in place
        (two hosts of one machine may share a path)."""
        found = []
        for old, new in placements.items():
            if Path(old) == Path(new):
                continue
            try:
                found.append(str(self.roots.confine(old, "disk path")))
            except PathOutsideStorageError:
                log.info("%s is outside the storage roots: left where it is", old)
        return tuple(found)
