"""One host's migrations, both ways, over its backend and data directory;
what the CIM side (the migration service and the incoming service) and
the HTTP side (the upload channel) are handed by the server."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from cimprovider.backends import HypervisorMigration, MigrationBackend
from cimprovider.backends.images import ImageService, StorageRoots
from cimprovider.jobs import CancelToken, ProgressReporter
from cimprovider.migration.channel import UploadChannel
from cimprovider.migration.hypervisor_moves import HypervisorMoves
from cimprovider.migration.incoming import IncomingMigrations, MigrationRefused
from cimprovider.migration.outgoing import MigrationFailed, OutgoingMigrations, Slots
from cimprovider.migration.peers import Peer
from cimprovider.migration.snapshot_images import sweep_staged
from cimprovider.migration.store import MigrationStore
from cimprovider.migration.storage_move import StorageMoves
from cimprovider.schemas.migration import MigrationOffer, MigrationRequest

log = logging.getLogger("cimprovider.migration")
FIRST_RETRY_SECONDS, LAST_RETRY_SECONDS = 1.0, 30.0  # the settler's backoff while a destination is silent
# The settler's longest pause while a destination answers that it still adopts
# the VM (as a job asks it): the move ends soon, and the VM stays held until asked.
ARRIVING_RETRY_SECONDS = 5.0
STORAGE = 32769

__all__ = ["MigrationEngine", "MigrationFailed", "MigrationRefused"]


class MigrationEngine:
    def __init__(self, data_dir: Path, backend: MigrationBackend, backend_name: str, roots: list[Path],
                 peers: dict[str, Peer], host_name: str, enabled: Callable[[], bool],
                 maximum: Callable[[], int], maximum_storage: Callable[[], int],
                 incoming_expiry_seconds: float = 600, host_paths: tuple[Path, ...] = ()) -> None:
        self.store = MigrationStore(data_dir / "migrations.sqlite3")
        storage = StorageRoots(roots)
        host_files = StorageRoots([*roots, data_dir, *host_paths])
        self.incoming = IncomingMigrations(self.store, backend, storage, backend_name, enabled, host_files)
        self.outgoing = OutgoingMigrations(self.store, backend, ImageService(storage), peers, host_name,
                                           backend_name, maximum)
        self.channel = UploadChannel(self.incoming)
        # A hypervisor that moves VMs itself (libvirt) carries them instead of uploads.
        self.hypervisor = HypervisorMoves(self.outgoing, backend, storage) if isinstance(backend, HypervisorMigration) else None
        self.storage = StorageMoves(self.store, backend, storage)
        self.storage_slots = Slots(maximum_storage)
        self.enabled = enabled
        self.incoming_expiry_seconds = incoming_expiry_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()  # a migration became pending
        self.outgoing.wake = self._wake.set
        self._settler: threading.Thread | None = None
        self._expirer: threading.Thread | None = None

    def start(self) -> None:
        """Settle what a restart cut short: incoming halves go at once, and
        the copies staged for a live move's upload; outgoing ones are
        settled with their destinations, their VMs held meanwhile, retried
        in the background while a destination does not answer — as are
        those a failed commit leaves pending later."""
        self.incoming.reconcile()
        self.storage.reconcile()
        if self.hypervisor is not None:
            sweep_staged(self.hypervisor.roots)
        self.outgoing.hold_unsettled()
        self._settler = threading.Thread(target=self._settle, name="migration-settle", daemon=True)
        self._settler.start()
        self._expirer = threading.Thread(target=self._expire, name="migration-expire", daemon=True)
        self._expirer.start()

    def _expire(self) -> None:
        """Incoming migrations whose source went silent go, with their files."""
        interval = min(5.0, self.incoming_expiry_seconds / 4)
        while not self._stop.wait(interval):
            try:
                self.incoming.expire(self.incoming_expiry_seconds)
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("could not expire silent incoming migrations")

    def _settle(self) -> None:
        """Pending migrations are retried with a growing pause while their
        destinations are silent (a shorter one while a destination says it
        is still adopting the VM); with none pending, it sleeps until woken."""
        delay = FIRST_RETRY_SECONDS
        while not self._stop.is_set():
            self._wake.clear()
            try:
                pending, arriving = self.outgoing.settle_pending()
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("could not settle the pending migrations")
                pending, arriving = 1, False
            if pending:
                self._wake.wait(min(delay, ARRIVING_RETRY_SECONDS) if arriving else delay)
                delay = min(delay * 2, LAST_RETRY_SECONDS)
            else:
                delay = FIRST_RETRY_SECONDS
                self._wake.wait()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self.outgoing.stopping.set()
        for thread in (self._settler, self._expirer):
            if thread is not None:
                thread.join(timeout=10)
        self.store.close()

    # --- what the CIM side calls

    def active(self) -> int:
        return self.outgoing.slots.active

    def active_storage(self) -> int:
        return self.storage_slots.active

    def stray_address(self, request: MigrationRequest) -> str | None:
        """Why the request's DestinationIPAddressList may not be used with
        its destination's credentials; None when it may."""
        return self.outgoing.stray_address(request.destination, request.destination_addresses)

    def check(self, request: MigrationRequest) -> list[str]:
        if request.migration_type == STORAGE:
            try:
                self.storage.plan(request)
            except MigrationFailed as failure:
                return failure.reasons
            return []
        if not self.enabled():
            return ["migration is disabled on this host (EnableVirtualSystemMigration is false)"]
        if self._by_hypervisor(request):
            return self.hypervisor.check(request)  # type: ignore[union-attr]
        return self.outgoing.check(request)

    def migrate(self, request: MigrationRequest, progress: ProgressReporter, cancel: CancelToken) -> None:
        if request.migration_type == STORAGE:
            self.storage_slots.acquire(cancel, request.priority)
            try:
                self.storage.move(request, progress)
            finally:
                self.storage_slots.release()
            return
        if not self.enabled():
            raise MigrationFailed(["migration is disabled on this host (EnableVirtualSystemMigration is false)"])
        if self._by_hypervisor(request):
            self.hypervisor.migrate(request, progress, cancel)  # type: ignore[union-attr]
            return
        self.outgoing.migrate(request, progress, cancel)

    def _by_hypervisor(self, request: MigrationRequest) -> bool:
        """A running VM moves live through the hypervisor; an off or saved
        one (the hypervisor copies no storage offline) as files, uploaded."""
        return self.hypervisor is not None and self.hypervisor.carries(request.vm_id)

    def prepare_incoming(self, offer_json: str, check_only: bool) -> str | None:
        offer = MigrationOffer.model_validate_json(offer_json)
        if check_only:
            reasons = self.incoming.reasons(offer)
            if reasons:
                raise MigrationRefused(reasons)
            return None
        return self.incoming.prepare(offer)

    def hypervisor_uri(self) -> str | None:
        return self.hypervisor.backend.migration_uri() if self.hypervisor is not None else None

    def commit_incoming(self, token: str) -> None:
        self.incoming.commit(token)

    def abort_incoming(self, token: str | None, vm_id: "object") -> None:
        self.incoming.abort(token, vm_id)  # type: ignore[arg-type]

    def arrival_state(self, vm_id: UUID) -> int:
        return self.incoming.arrival_state(vm_id)
