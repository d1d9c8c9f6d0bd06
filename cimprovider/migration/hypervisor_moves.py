"""The source's side of a migration the hypervisor carries itself (libvirt),
persisted per VM as the upload flow is (see outgoing):

    preparing → sending (files up, then the hypervisors move the VM) → committing → done

The destination checks the offer (the VM and where each disk lands), makes
the empty images and answers with its hypervisor's URI. Files go first,
over the authenticated upload channel (see running_offer): what the disks
read through and what the snapshots name, each disk made on its placed
parent there, and each qcow2 disk that holds internal snapshots, copied
here as it stands, whose active layer the destination empties for the
hypervisor to copy the disk into (see snapshot_images). The source's
hypervisor then moves the running VM there, disks copied, persisted there
and undefined here; the destination confirms it has the VM and redefines
its snapshots; only then does the source delete its copies of the files.
The VM is held meanwhile (no snapshot is taken or deleted, no power
change). A failure before the move leaves the VM running here, with its
snapshots, and has the destination drop its files."""

from __future__ import annotations

import logging
from pathlib import Path
from uuid import UUID

from cimprovider.backends import HypervisorMigration, MigrationBackend
from cimprovider.backends.images import StorageRoots
from cimprovider.backends.images.errors import PathOutsideStorageError
from cimprovider.jobs import CancelToken, JobCancelled, ProgressReporter
from cimprovider.migration.client import PeerClient, PeerRefused, PeerUnreachable
from cimprovider.migration.hypervisor_uri import uri_refusal
from cimprovider.migration.offer import Placement, placed_record
from cimprovider.migration.outgoing import (
    COMMITTING, PREPARING, SENDING, MigrationFailed, OutgoingMigrations, move_held, refusals,
)
from cimprovider.migration.pacing import Pacer, mebibytes_per_second
from cimprovider.migration.running_offer import CarriedFiles, Uploads, place_carried, uploads
from cimprovider.migration.store import Outgoing
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.migration import MigratingDisk, MigratingVm, MigrationOffer, MigrationRequest

log = logging.getLogger("cimprovider.migration")


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

    def offer(self, request: MigrationRequest, stage: bool = False) -> tuple[MigrationOffer, list[MigratingDisk], Uploads, CarriedFiles]:
        """The offer; the disks at their paths here; the files to upload,
        read (and the disks with snapshots copied) if `stage`; what the
        backend carries beside the disks."""
        if any(o.vm_id == request.vm_id for o in self.outgoing.store.outgoing()):
            raise MigrationFailed([f"the virtual machine {request.vm_id} is already migrating"])
        try:
            vm = self.backend.get_vm(request.vm_id)  # type: ignore[attr-defined]
            disks = self.backend.migration_disks(request.vm_id)
            carried = CarriedFiles(*self.backend.migration_files(request.vm_id))
            definitions, current = self.backend.migration_snapshots(request.vm_id)
            place = Placement(request.placements)
            place_carried(place, disks, carried, self.roots)
            files = uploads(place, disks, carried, self.roots, stage)
        except Exception as error:  # noqa: BLE001 - the backend's NotFound/InvalidState, OfferError say why
            raise MigrationFailed([str(error)]) from None
        named = [d.path for d in disks] + carried.images + carried.memories
        record = placed_record(MigratingVm(vm=vm, snapshot_definitions=definitions, current_snapshot=current), place)
        record = record.model_copy(update={"placed_paths": {path: place(path) for path in named}})
        offer = MigrationOffer(
            source_host=self.outgoing.host_name, backend=self.outgoing.backend_name, record=record,
            disks=tuple(d.model_copy(update={"path": place(d.path), "backing": place(d.backing) if d.backing else None})
                        for d in disks),
            files=tuple(files.slots),
        )
        return offer, disks, files, carried

    def check(self, request: MigrationRequest) -> list[str]:
        def ask() -> None:
            offer = self.offer(request)[0]
            client = self.outgoing.client(request.destination, request.destination_addresses)
            uri = client.accept(offer, check_only=True)[1]
            if uri:  # a destination that names it for a check too: refused now rather than at the move
                _check_uri(client, uri)

        return _bandwidth_refusal(request) or refusals(ask)

    def migrate(self, request: MigrationRequest, progress: ProgressReporter, cancel: CancelToken) -> None:
        move_held(self.outgoing.slots, request, cancel, hold=lambda: self._hold(request.vm_id, request.destination),
                  move=lambda: self._migrate(request, progress, cancel), unhold=lambda: self._unhold(request.vm_id))

    def _hold(self, vm_id: UUID, destination: str) -> None:
        """No snapshot taken or deleted, no power change, while it moves: the
        snapshots read from its disks must be the ones it has."""
        if not isinstance(self.backend, MigrationBackend):
            return
        try:
            self.backend.hold_vm(vm_id, f"the VM is migrating to {destination}")
        except Exception as error:  # noqa: BLE001 - NotFound/InvalidState say why
            raise MigrationFailed([str(error)]) from None

    def _unhold(self, vm_id: UUID) -> None:
        if isinstance(self.backend, MigrationBackend):
            self.backend.unhold_vm(vm_id)

    def _migrate(self, request: MigrationRequest, progress: ProgressReporter, cancel: CancelToken) -> None:
        refused = _bandwidth_refusal(request)
        if refused:
            raise MigrationFailed(refused)
        offer, disks, files, carried = self.offer(request, stage=True)
        try:
            self._move(request, offer, disks, files, carried, progress, cancel)
        finally:
            for copy in files.staged:
                copy.unlink(missing_ok=True)
                try:
                    copy.parent.rmdir()  # the staging folder, once no other move uses it
                except OSError:
                    pass

    def _move(self, request: MigrationRequest, offer: MigrationOffer, disks: list[MigratingDisk], files: Uploads,
              carried: CarriedFiles, progress: ProgressReporter, cancel: CancelToken) -> None:
        client = self.outgoing.client(request.destination, request.destination_addresses)
        placements = dict(offer.record.placed_paths)
        owned = [d.path for d in disks] + carried.owned  # memory files are the backend's: it drops them once moved
        keep = () if request.retain_source_copies else self._deletable({p: placements[p] for p in owned})
        store = self.outgoing.store
        store.put_outgoing(Outgoing(request.vm_id, PREPARING, request.destination, None, keep))
        token: str | None = None
        try:
            token, uri = client.accept(offer)
            if not token or not uri:
                raise MigrationFailed(["the destination host does not move VMs through its hypervisor"])
            _check_uri(client, uri)  # before anything is uploaded or handed to the hypervisor
            store.put_outgoing(Outgoing(request.vm_id, SENDING, request.destination, token, keep))
            progress(5)
            pace = Pacer(request.bandwidth_mbps, cancel)
            for index, source in enumerate(files.sources):
                client.upload(token, index, source, pace)
            cancel.raise_if_cancelled()  # the last moment a cancel can stop the move
            progress(10)
            try:
                self.backend.migrate_to(request.vm_id, uri, placements, progress, mebibytes_per_second(request.bandwidth_mbps))
            except Exception as error:  # noqa: BLE001 - the hypervisor's reason; the VM stays here
                raise MigrationFailed([f"the hypervisor could not move the VM: {error}"]) from None
            store.put_outgoing(Outgoing(request.vm_id, COMMITTING, request.destination, token, keep))
            client.commit(token)
        except PeerUnreachable as error:
            if self.outgoing.settle_now(request.vm_id, request.destination, client, str(error)):
                progress(100)
                return
            raise MigrationFailed([f"the destination host failed: {error}; the VM stays here"]) from None
        except (PeerRefused, MigrationFailed) as failure:
            if self.outgoing.refused(request.vm_id, request.destination, client, token, failure):
                progress(100)
                return
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


def _bandwidth_refusal(request: MigrationRequest) -> list[str]:
    """The hypervisor caps a move in whole MiB/s: a cap below one cannot be kept."""
    if 0 < request.bandwidth_mbps and not mebibytes_per_second(request.bandwidth_mbps):
        return [f"Bandwidth: the hypervisor caps a move in whole MiB/s, so {request.bandwidth_mbps} Mbit/s cannot be kept: "
                "give at least 9 (or 0 for no cap)"]
    return []


def _check_uri(client: PeerClient, uri: str) -> None:
    """Refuses a hypervisor URI that would have this host's libvirt run,
    open or sign in with something of this host's (see hypervisor_uri)."""
    why = uri_refusal(uri, client.peer.hypervisor_uri)
    if why:
        raise MigrationFailed([why])
