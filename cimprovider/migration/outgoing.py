"""The source's side, a state machine persisted per VM (see store):

    preparing → sending → committing → (VM released here) done

The VM is not touched until the destination has it: the source reads its
record, offers it, streams the files, checks the VM did not change
meanwhile, and asks the destination to adopt it. Only once the
destination says it has the VM — or, after a lost answer or a restart,
shows it — does the source forget the VM and delete its own copies of
the files. A failure before that aborts the destination's half (its
files go) and leaves the VM as it was. Migrations beyond the service's
maximum wait for a slot, as Hyper-V queues them.

When the destination cannot say whether it has the VM — it stopped
answering during the commit, or is still adopting the VM — the migration
is pending: the VM stays held here (every change refused, naming the
destination), since the destination may own it, and the engine settles
it in the background once the destination answers."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from cimprovider.backends import MigrationBackend, NotFoundError
from cimprovider.backends.images import ImageService
from cimprovider.jobs import CancelToken, JobCancelled, ProgressReporter
from cimprovider.migration.arrived_parents import is_qcow2
from cimprovider.migration.client import PeerClient, PeerRefused, PeerUnreachable, StillArriving
from cimprovider.migration.offer import OfferError, build_offer
from cimprovider.migration.pacing import Pacer
from cimprovider.migration.peers import Peer, PeerError, resolve_destination
from cimprovider.migration.store import MigrationStore, Outgoing
from cimprovider.schemas.migration import MigrationOffer, MigrationRequest

log = logging.getLogger("cimprovider.migration")
PREPARING, SENDING, COMMITTING = "preparing", "sending", "committing"
_RANK = {1: 0, 0: 1, 2: 2}  # CIM's Priority: 1 Low, 0 Unknown (the usual), 2 High
ARRIVAL_WAIT_SECONDS = 600.0  # how long a job asks a destination still adopting the VM before leaving it pending


class MigrationFailed(Exception):
    """The VM stays on this host as it was; the reasons say why."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class SettlePending(MigrationFailed):
    """The destination may have the VM and cannot say so yet: the VM stays
    held here and the migration is settled in the background."""


def stray_address_reason(peer: Peer, address: str) -> str:
    return (f"DestinationIPAddressList: {address} is not an address of peer {peer.name} (its URL {peer.url}, "
            "or its addresses in the peers file); its credentials go nowhere else")


def pending_hold(destination: str, why: str) -> str:
    """Why a VM whose migration is pending refuses every change."""
    return (f"its migration to {destination} is not settled: {why}; {destination} may own the VM, "
            f"so it stays held here until {destination} answers")


class Slots:
    """At most `maximum()` migrations at once; the others wait their turn,
    a migration of High priority (2) before Unknown (0) before Low (1),
    and in the order they came within a priority."""

    def __init__(self, maximum: Callable[[], int]) -> None:
        self.maximum = maximum
        self.active = 0
        self._waiting: list[tuple[int, int]] = []  # (-rank, arrival) of each waiting migration
        self._arrivals = itertools.count()
        self._free = threading.Condition()

    @property
    def waiting(self) -> int:
        with self._free:
            return len(self._waiting)

    def acquire(self, cancel: CancelToken, priority: int = 0) -> None:
        ticket = (-_RANK.get(priority, 1), next(self._arrivals))
        with self._free:
            self._waiting.append(ticket)
            try:
                while self.active >= self.maximum() or min(self._waiting) != ticket:
                    self._free.wait(0.2)
                    cancel.raise_if_cancelled()
            finally:
                self._waiting.remove(ticket)
                self._free.notify_all()
            self.active += 1

    def release(self) -> None:
        with self._free:
            self.active -= 1
            self._free.notify_all()


def refusals(ask: Callable[[], None]) -> list[str]:
    """Why the VM cannot move as `ask` offers it (empty: it can): this
    host's reasons, or the destination's."""
    try:
        ask()
    except (MigrationFailed, PeerRefused) as failure:
        return failure.reasons
    except PeerUnreachable as error:
        return [f"the destination host cannot be reached: {error}"]
    return []


def move_held(slots: Slots, request: MigrationRequest, cancel: CancelToken, hold: Callable[[], None],
              move: Callable[[], None], unhold: Callable[[], None]) -> None:
    """A migration in its turn (see Slots), the VM held while it moves and
    let go when the move ends, unless the move is pending: then the settler
    lets it go, since the destination may own it."""
    slots.acquire(cancel, request.priority)
    try:
        hold()
        pending = False
        try:
            move()
        except SettlePending:
            pending = True
            raise
        finally:
            if not pending:
                unhold()
    finally:
        slots.release()


class OutgoingMigrations:
    def __init__(self, store: MigrationStore, backend: MigrationBackend, images: ImageService,
                 peers: dict[str, Peer], host_name: str, backend_name: str, maximum: Callable[[], int]) -> None:
        self.store = store
        self.backend = backend
        self.images = images
        self.peers = peers
        self.host_name = host_name
        self.backend_name = backend_name
        self.slots = Slots(maximum)
        self.arrival_wait = ARRIVAL_WAIT_SECONDS
        self.wake: Callable[[], None] = lambda: None  # tells the engine's settler of a pending migration
        self.stopping = threading.Event()  # the server stops: jobs waiting on a destination leave it pending
        self._pending: set[UUID] = set()
        self._pending_lock = threading.Lock()

    def stray_address(self, destination: str, addresses: tuple[str, ...]) -> str | None:
        try:
            peer = resolve_destination(destination, self.peers)
        except PeerError:
            return None  # the migration fails on its destination, saying why
        stray = peer.stray_address(addresses) if addresses else None
        return stray_address_reason(peer, stray) if stray is not None else None

    def client(self, destination: str, addresses: tuple[str, ...] = ()) -> PeerClient:
        """The destination's client; given DestinationIPAddressList, on the
        first of those addresses the destination answers at."""
        try:
            peer = resolve_destination(destination, self.peers)
        except PeerError as error:
            raise MigrationFailed([str(error)]) from None
        if not addresses:
            return PeerClient(peer)
        stray = peer.stray_address(addresses)
        if stray is not None:
            raise MigrationFailed([stray_address_reason(peer, stray)])
        tried = []
        for address in addresses:
            client = PeerClient(peer.at(address))
            try:
                client.reachable()
                return client
            except PeerUnreachable as error:
                tried.append(str(error))
        raise MigrationFailed([f"DestinationIPAddressList: the destination host answers at none of {', '.join(addresses)} "
                               f"({'; '.join(tried)})"])

    def offer(self, request: MigrationRequest) -> tuple[MigrationOffer, list[str]]:
        if not isinstance(self.backend, MigrationBackend):
            raise MigrationFailed([f"a {self.backend_name} host cannot hand its VMs over to another host"])
        if any(o.vm_id == request.vm_id for o in self.store.outgoing()):
            raise MigrationFailed([f"the virtual machine {request.vm_id} is already migrating"])
        try:
            record = self.backend.migration_record(request.vm_id)
            return build_offer(record, self.images, request.placements, self.host_name, self.backend_name,
                               request.allow_overwrite)
        except OfferError as error:
            raise MigrationFailed([str(error)]) from None
        except Exception as error:  # noqa: BLE001 - the backend's NotFound/InvalidState say why
            raise MigrationFailed([str(error)]) from None

    def check(self, request: MigrationRequest) -> list[str]:
        """Why the VM cannot move as asked (empty: it can); asks the destination."""
        def ask() -> None:
            offer, _ = self.offer(request)
            self.client(request.destination, request.destination_addresses).prepare(offer, check_only=True)

        return refusals(ask)

    def migrate(self, request: MigrationRequest, progress: ProgressReporter, cancel: CancelToken) -> None:
        move_held(self.slots, request, cancel, hold=lambda: self._hold(request),
                  move=lambda: self._migrate(request, progress, cancel),
                  unhold=lambda: self.backend.unhold_vm(request.vm_id))

    def _hold(self, request: MigrationRequest) -> None:
        """No change to the VM while it moves, so nothing done to it on
        this host after its record was read can be lost."""
        if not isinstance(self.backend, MigrationBackend):
            raise MigrationFailed([f"a {self.backend_name} host cannot hand its VMs over to another host"])
        try:
            self.backend.hold_vm(request.vm_id, f"the VM is migrating to {request.destination}")
        except Exception as error:  # noqa: BLE001 - NotFound/InvalidState say why
            raise MigrationFailed([str(error)]) from None

    def _migrate(self, request: MigrationRequest, progress: ProgressReporter, cancel: CancelToken) -> None:
        offer, files = self.offer(request)
        client = self.client(request.destination, request.destination_addresses)
        # A saved VM's memory image is the hypervisor's own file (libvirt's
        # managed save), not one of the host's: releasing the VM removes it.
        # A qcow2 backing file may be a base image other VMs read too: it is copied, never taken away.
        # An image a snapshot names (an overlay another reads through) is the VM's alone; a snapshot's memory
        # file is the hypervisor's, released with the VM.
        owned = {p for s in offer.record.snapshots for p in s.frozen_disks} | set(offer.record.snapshot_disks)
        bases = {f for f, slot in zip(files, offer.files)
                 if slot.path in {s.parent for s in offer.files} and slot.path not in owned and is_qcow2(Path(f))}
        moved = [f for f, slot in zip(files, offer.files)
                 if not (slot.path == f and request.allow_overwrite) and slot.path != offer.record.saved_state
                 and slot.path not in offer.record.snapshot_memory and f not in bases]
        keep = () if request.retain_source_copies else tuple(moved)
        record = Outgoing(request.vm_id, PREPARING, request.destination, None, keep)
        self.store.put_outgoing(record)
        token: str | None = None
        try:
            token = client.prepare(offer, check_only=False)
            record = Outgoing(request.vm_id, SENDING, request.destination, token, keep)
            self.store.put_outgoing(record)
            self._send(client, token, files, offer, progress, Pacer(request.bandwidth_mbps, cancel), request.compress)
            cancel.raise_if_cancelled()  # the last moment a cancel can undo the move
            if self._changed(request.vm_id, offer):
                raise MigrationFailed([f"the virtual machine {request.vm_id} changed while it migrated"])
            self.store.put_outgoing(Outgoing(request.vm_id, COMMITTING, request.destination, token, keep))
            client.commit(token)
        except PeerUnreachable as error:
            if getattr(self.store_record(request.vm_id), "phase", None) != COMMITTING:
                # Files are adopted only at the commit: the destination cannot have the VM.
                self.undo(request.vm_id, client, token)
                raise MigrationFailed([f"the destination host failed: {error}; the VM stays here"]) from None
            if self.settle_now(request.vm_id, request.destination, client, str(error)):
                progress(100)
                return
            raise MigrationFailed([f"the destination host failed: {error}; the VM stays here"]) from None
        except (PeerRefused, MigrationFailed) as failure:
            if self.refused(request.vm_id, request.destination, client, token, failure):
                progress(100)
                return
            raise MigrationFailed(failure.reasons) from None
        except JobCancelled:
            self.undo(request.vm_id, client, token)
            raise
        self.finish(request.vm_id, keep)
        progress(100)

    def _changed(self, vm_id: UUID, offer: MigrationOffer) -> bool:
        now = self.backend.migration_record(vm_id)
        return now.vm.power_state != offer.record.vm.power_state or len(now.snapshots) != len(offer.record.snapshots)

    def _send(self, client: PeerClient, token: str, files: list[str], offer: MigrationOffer,
              progress: ProgressReporter, pace: Pacer, compress: bool) -> None:
        total = sum(slot.size for slot in offer.files) or 1
        done = 0

        def sent(count: int) -> None:
            nonlocal done
            pace(count)  # stops the upload between chunks once cancelled, and holds it to the Bandwidth
            done += count
            progress(min(95, 5 + done * 90 // total))

        progress(5)
        for index, path in enumerate(files):
            client.upload(token, index, Path(path), sent, compress)

    def refused(self, vm_id: UUID, destination: str, client: PeerClient, token: str | None,
                failure: PeerRefused | MigrationFailed) -> bool:
        """After a refusal: True if the destination has the VM all the same,
        False once the move is undone. A commit is refused when it comes
        after the destination made the VM its own: its hypervisor finished
        the move and this host was silent past the destination's expiry
        (alive, but cut off or stalled). Undone then, the job would report
        a failure for a VM that moved, and leave its disks here."""
        if isinstance(failure, PeerRefused) and getattr(self.store_record(vm_id), "phase", None) == COMMITTING:
            return self.settle_now(vm_id, destination, client, str(failure))
        self.undo(vm_id, client, token)
        return False

    def settle_now(self, vm_id: UUID, destination: str, client: PeerClient, detail: str) -> bool:
        """After the commit's answer was lost: True if the destination has
        the VM, False if the move was undone; SettlePending if it cannot say
        (it does not answer, or is still adopting the VM past the wait)."""
        deadline = time.monotonic() + self.arrival_wait
        delay = 0.2
        while True:
            try:
                return self.resolve(self.store_record(vm_id), client)
            except StillArriving:
                # A job's own thread waits while the destination finishes the commit.
                if time.monotonic() >= deadline or self.stopping.wait(delay):
                    raise self.defer(vm_id, destination, f"the destination host {destination} is still adopting the VM",
                                     "asked again until this host stopped waiting") from None
                delay = min(delay * 2, 5.0)
            except PeerUnreachable:
                raise self.defer(vm_id, destination, f"the destination host {destination} stopped answering while "
                                 "it adopted the VM", detail) from None

    def defer(self, vm_id: UUID, destination: str, why: str, detail: str) -> SettlePending:
        """Keep the VM held, saying why, and leave the migration to the settler."""
        try:
            self.backend.hold_vm(vm_id, pending_hold(destination, why), again=True)
        except Exception:  # noqa: BLE001 - a hypervisor that moved the VM released it here already
            log.debug("VM %s is no longer here to hold", vm_id)
        with self._pending_lock:
            self._pending.add(vm_id)
        self.wake()
        return SettlePending([f"{why} ({detail}); the migration is settled once {destination} answers again, "
                              "and the VM stays held here until then"])

    def store_record(self, vm_id: UUID) -> Outgoing | None:
        return next((o for o in self.store.outgoing() if o.vm_id == vm_id), None)

    def undo(self, vm_id: UUID, client: PeerClient, token: str | None) -> None:
        # Without a token the destination may still have accepted the offer
        # (the answer was lost): it drops whatever it holds for the VM.
        try:
            client.abort(token, vm_id)
        except (PeerRefused, PeerUnreachable) as error:
            log.warning("could not tell the destination to drop VM %s: %s", vm_id, error)
        # The VM is free again before the migration's record goes, so no
        # one who sees the migration gone finds the VM still held.
        self.backend.unhold_vm(vm_id)
        self.store.drop_outgoing(vm_id)

    def finish(self, vm_id: UUID, source_files: tuple[str, ...]) -> None:
        """The destination has the VM: it is no longer this host's. A VM
        that cannot be let go (its host's store failing) keeps its files
        and its record, held, and the settler tries again: deleting the
        files of a VM still defined here would leave a VM without disks."""
        try:
            self.backend.release_vm(vm_id)
        except NotFoundError:
            log.debug("VM %s was already released", vm_id)
        except Exception as error:  # noqa: BLE001 - any failure to let go is tried again
            record = self.store_record(vm_id)
            destination = record.destination if record is not None else "the destination"
            raise self.defer(vm_id, destination, f"the destination host {destination} has the VM, but this host "
                             f"could not let it go ({error})", "tried again in the background") from None
        for path in source_files:
            self.images.roots.remove(path, "source file")
        self.store.drop_outgoing(vm_id)
        log.info("VM %s now lives on its destination; released here", vm_id)

    def resolve(self, record: Outgoing | None, client: PeerClient) -> bool:
        """After a lost answer or a restart: True if the destination has the
        VM (this host lets it go), False if the migration was undone here."""
        if record is None:
            return False
        # A hypervisor that moves the VM itself may have finished the move
        # while this host was down (sending); files are adopted only at commit.
        if record.phase in (SENDING, COMMITTING) and client.owns(record.vm_id):
            self._commit_again(record, client)
            self.finish(record.vm_id, record.source_files)
            return True
        self.undo(record.vm_id, client, record.token)
        return False

    def _commit_again(self, record: Outgoing, client: PeerClient) -> None:
        """The commit, for a VM the hypervisor moved while this host was
        down (sending): the destination then drops its migration and
        redefines the snapshots. One that came already is refused."""
        if record.token is None:
            return
        try:
            client.commit(record.token)
        except (PeerRefused, PeerUnreachable) as error:
            log.info("the destination has VM %s; it did not take the commit again: %s", record.vm_id, error)

    def hold_unsettled(self) -> None:
        """At start: each migration a restart cut short is pending, its VM
        held (the destination may own it) until it is settled."""
        for record in self.store.outgoing():
            why = f"the server restarted during the migration to {record.destination}"
            try:
                self.backend.hold_vm(record.vm_id, pending_hold(record.destination, why), again=True)
            except Exception:  # noqa: BLE001 - released before the restart, or not here
                log.debug("VM %s is not here to hold", record.vm_id)
            with self._pending_lock:
                self._pending.add(record.vm_id)

    def settle_pending(self) -> tuple[int, bool]:
        """Settle each pending migration whose destination can say whether
        it has the VM (its VM is let go: released or freed); how many stay
        pending, and whether a destination answered that it is still
        adopting its VM (it is not silent: the move ends soon)."""
        with self._pending_lock:
            waiting = set(self._pending)
        arriving = False
        for record in self.store.outgoing():
            if record.vm_id not in waiting:
                continue  # a migration in flight: its job settles it
            try:
                self.resolve(record, self.client(record.destination))
            except (PeerUnreachable, MigrationFailed) as error:
                arriving = arriving or isinstance(error, StillArriving)
                log.warning("migration of VM %s to %s is unsettled: %s", record.vm_id, record.destination, error)
        with self._pending_lock:
            self._pending &= {o.vm_id for o in self.store.outgoing()}
            return len(self._pending), arriving
