"""The destination's side: an offer is checked (migration enabled, same
kind of backend, no VM with that id, memory for a running VM, its
switches, every file inside this host's storage roots and not already
there), then accepted with a one-time token; files arrive through the
upload channel, each written beside its place as `<name>.migrating`,
checked against its size and SHA-256 and only then renamed into place;
the commit re-parents differencing disks and adopts the VM in one
backend step. A running VM the hypervisor moves may bring its disks that
hold snapshots as files first: each is prepared for the hypervisor's copy
as it arrives (snapshot_images), and its snapshots are redefined once the
VM is here. Until then nothing is the host's: an abort, a restart, or
a source silent for longer than the expiry (it died mid-way) removes
every file the offer brought — except a VM the hypervisor finished
moving here, which the expiry, like a restart, makes this host's."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from cimprovider.backends import HypervisorMigration, MigrationBackend, SnapshotBackend
from cimprovider.backends.images import ImageError, ImageService, StorageRoots
from cimprovider.backends.images.errors import PathOutsideStorageError
from cimprovider.migration.hypervisor_disks import disk_reasons, make_empty_disks
from cimprovider.migration.offer_definitions import definition_reasons
from cimprovider.migration.offer_paths import unoffered_path_reasons
from cimprovider.migration.room import room_reasons
from cimprovider.migration.arrived_parents import ArrivedFileRefused, check_named_files, set_parent
from cimprovider.migration.snapshot_images import ArrivedImageRefused, prepare_arrived_image
from cimprovider.migration.store import Incoming, MigrationStore
from cimprovider.migration.upload import Upload, UploadRefused, partial_path
from cimprovider.schemas.migration import MigrationOffer
from cimprovider.schemas.power import PowerState

log = logging.getLogger("cimprovider.migration")
ABSENT, ARRIVING, OWNED = 0, 1, 2  # ArrivalState's answers
_USING_MEMORY = (PowerState.RUNNING, PowerState.PAUSED)


class MigrationRefused(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class IncomingMigrations:
    def __init__(self, store: MigrationStore, backend: MigrationBackend, roots: StorageRoots, backend_name: str,
                 enabled: Callable[[], bool], host_files: StorageRoots | None = None) -> None:
        self.store = store
        # Where an offered definition's kernel, firmware and console files may lie.
        self.host_files = host_files or roots
        self.backend = backend
        self.roots = roots
        self.backend_name = backend_name
        self.enabled = enabled
        self.images = ImageService(roots)
        self._lock = threading.Lock()
        # Adopting, dropping and finishing a file exclude each other, so an
        # expiry never takes files from under a commit.
        self._settling = threading.RLock()
        self._uploading: set[tuple[str, int]] = set()
        self._touched: dict[str, float] = {}  # token -> last sign of life (monotonic)
        # VMs a commit is adopting: hidden (or half made) until it ends, so
        # a source asking meanwhile is told to ask again, never "absent".
        self._adopting: set[UUID] = set()

    # --- checking and accepting

    def reasons(self, offer: MigrationOffer) -> list[str]:
        """Why this host cannot take the VM offered (empty: it can)."""
        vm = offer.record.vm
        found: list[str] = []
        if not self.enabled():
            found.append("migration is disabled on the destination host (EnableVirtualSystemMigration is false)")
        if offer.backend != self.backend_name:
            found.append(f"the VM runs on a {offer.backend} host and the destination is a {self.backend_name} host; "
                         "VMs move only between hosts of the same kind")
            return found
        if not isinstance(self.backend, (MigrationBackend, HypervisorMigration)):
            return found + [f"a {self.backend_name} host does not take migrated VMs"]
        if any(v.id == vm.id for v in self.backend.list_vms()):  # type: ignore[attr-defined]
            found.append(f"a virtual machine with the ID {vm.id} already exists on the destination host")
        if any(record.vm_id == vm.id for record in self.store.incoming()):
            found.append(f"the virtual machine {vm.id} is already migrating to the destination host")
        if vm.power_state in _USING_MEMORY:
            free = self.free_memory_mb()
            if vm.memory.startup_mb > free:
                found.append(f"not enough memory on the destination host: the VM needs {vm.memory.startup_mb} MB, "
                             f"{free} MB are free")
        switches = {s.id for s in self.backend.list_switches()}  # type: ignore[attr-defined]
        for nic in vm.network_adapters:
            if nic.switch_id is not None and nic.switch_id not in switches:
                found.append(f"network adapter {nic.name!r}: the virtual switch {nic.switch_id} does not exist on the destination host")
        file_reasons = self._file_reasons(offer) + unoffered_path_reasons(offer) + definition_reasons(offer, self.host_files)
        # Room is looked for only where every path was confined to the roots.
        found += file_reasons or room_reasons(offer)
        found += disk_reasons(offer, self.roots)
        return found

    def free_memory_mb(self) -> int:
        host = self.backend.host_info()  # type: ignore[attr-defined]
        used = sum(v.memory.startup_mb for v in self.backend.list_vms() if v.power_state in _USING_MEMORY)  # type: ignore[attr-defined]
        return host.memory_mb - used

    def _file_reasons(self, offer: MigrationOffer) -> list[str]:
        found: list[str] = []
        claimed = {slot.path for record in self.store.incoming() for slot in MigrationOffer.model_validate_json(record.offer).files}
        for slot in offer.files:
            try:
                target = self.roots.confine(slot.path, "disk path")
            except PathOutsideStorageError as error:
                found.append(f"{error}")
                continue
            if slot.parent is not None and slot.parent not in {s.path for s in offer.files}:
                found.append(f"{slot.path}: its parent {slot.parent} is not among the files offered")
            if slot.path in claimed:
                found.append(f"{slot.path}: another migration to the destination host writes this file")
            elif target.exists() and not offer.allow_overwrite:
                found.append(f"{slot.path} already exists on the destination host (AllowOverwriteExistingFile is false)")
        return found

    def prepare(self, offer: MigrationOffer) -> str:
        with self._lock:
            refused = self.reasons(offer)
            if refused:
                raise MigrationRefused(refused)
            token = secrets.token_urlsafe(32)
            # Only AllowOverwriteExistingFile lets a path hold a file already: on storage both
            # hosts see, it is the source's own disk, which no abort here may take away.
            found = frozenset(p for p in {s.path for s in offer.files} | {d.path for d in offer.disks} if Path(p).exists())
            self.store.put_incoming(Incoming(token, offer.record.vm.id, offer.model_dump_json(), frozenset(), found))
            self.touch(token)
        for slot in offer.files:
            Path(slot.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            make_empty_disks(offer, self.roots)
        except OSError as error:
            self.abort(token)
            raise MigrationRefused([f"the destination could not make the VM's disks: {error}"]) from None
        log.info("accepted migration of VM %s from %s (%d files)", offer.record.vm.id, offer.source_host, len(offer.files))
        return token

    # --- files

    def open_upload(self, token: str, index: int) -> Upload:
        record = self._record(token)
        offer = MigrationOffer.model_validate_json(record.offer)
        if not 0 <= index < len(offer.files):
            raise UploadRefused(404, f"the migration has no file {index}")
        with self._lock:
            if index in record.received or (token, index) in self._uploading:
                raise UploadRefused(409, f"file {index} of the migration was already sent")
            self._uploading.add((token, index))
        slot = offer.files[index]
        upload = Upload(slot, self.roots.confine(slot.path, "disk path"), touched=lambda: self.touch(token))
        upload.handle = open(partial_path(slot.path), "wb")
        self.touch(token)
        return upload

    def close_upload(self, token: str, index: int, upload: Upload, complete: bool) -> None:
        try:
            with self._settling:
                if complete and not self.store.incoming(token):
                    upload.discard()
                    raise UploadRefused(410, f"{upload.slot.path}: the migration was dropped (its source went silent) "
                                             "and its files with it")
                if complete:
                    upload.finish()
                    self._prepare_disk(token, upload)
                    self.store.mark_received(token, index)
                else:
                    upload.discard()
        finally:
            with self._lock:
                self._uploading.discard((token, index))
            self.touch(token)

    def _prepare_disk(self, token: str, upload: Upload) -> None:
        """A disk with snapshots, arrived for the hypervisor's copy: emptied
        and checked; any other file: a qcow2 names no file but its offered
        parent. Else it is removed with the reason."""
        offer = MigrationOffer.model_validate_json(self._record(token).offer)
        disk = next((d for d in offer.disks if d.path == upload.slot.path), None)
        try:
            if disk is not None:
                prepare_arrived_image(upload.target, disk, self.images)
            else:
                check_named_files(upload.target, upload.slot)
                if offer.disks and upload.slot.parent is not None:
                    # The hypervisor opens the chain before any commit: it must name its placed parent now.
                    set_parent(self.images, upload.target, Path(upload.slot.parent))
        except (ArrivedImageRefused, ArrivedFileRefused, ImageError) as refused:
            self.roots.remove(upload.target, "disk path")
            raise UploadRefused(422, str(refused)) from None

    def touch(self, token: str) -> None:
        self._touched[token] = time.monotonic()

    def expire(self, silent_seconds: float) -> list[UUID]:
        """Settle the migrations whose source has given no sign of life (a
        call, a chunk) for `silent_seconds`: one the hypervisor finished
        moving here is this host's, as a commit would have made it (the
        source, if it ever comes back, asks and lets the VM go); any other
        is dropped with its files. The ids of the VMs dropped."""
        now = time.monotonic()
        dropped = []
        with self._settling:
            owned, moving = self._owned(), self._taking_in()
            for record in self.store.incoming():
                if record.vm_id in moving:
                    # Not silent: the source's hypervisor sends. Silence counts from
                    # the end of the move, when the source's commit is due.
                    self.touch(record.token)
                    continue
                last = self._touched.setdefault(record.token, now)
                if now - last < silent_seconds:
                    continue
                if record.vm_id in owned:
                    self._kept_without_commit(record, now - last)
                    continue
                log.warning("the migration of VM %s was silent for %.0f s: dropping it and its files",
                            record.vm_id, now - last)
                self.abort(record.token)
                dropped.append(record.vm_id)
        return dropped

    def _kept_without_commit(self, record: Incoming, silent: float) -> None:
        offer = MigrationOffer.model_validate_json(record.offer)
        if not offer.disks:
            return  # a VM adopted from files is this host's only through its commit, which is under way
        log.warning("the source of VM %s (%s) was silent for %.0f s after the hypervisor moved the VM here: "
                    "it is this host's", record.vm_id, offer.source_host, silent)
        self._adopted_at_last(record, offer)

    # --- ending

    def commit(self, token: str) -> None:
        found = self.store.incoming(token) if token else []
        vm_id = found[0].vm_id if found else None
        with self._lock:
            if vm_id is not None:
                self._adopting.add(vm_id)
        try:
            with self._settling:
                self._commit(token)
        finally:
            with self._lock:
                self._adopting.discard(vm_id)  # type: ignore[arg-type]

    def arrival_state(self, vm_id: UUID) -> int:
        """What a source that lost its commit's answer is told: ARRIVING
        while a commit adopts the VM (it must not undo the move), else
        OWNED or ABSENT. Answered without waiting for the commit."""
        with self._lock:
            if vm_id in self._adopting:
                log.info("asked about VM %s while it is adopted here: still arriving", vm_id)
                return ARRIVING
        if vm_id in self._taking_in():
            # Released now, the source would stop the only copy that runs.
            log.info("asked about VM %s while the hypervisor still moves it here: still arriving", vm_id)
            return ARRIVING
        return OWNED if vm_id in self._owned() else ABSENT

    def _commit(self, token: str) -> None:
        self.touch(token)
        record = self._record(token)
        offer = MigrationOffer.model_validate_json(record.offer)
        if offer.disks:
            self._arrived(record, offer)
            return
        missing = [slot.path for i, slot in enumerate(offer.files) if i not in record.received]
        if missing:
            raise MigrationRefused([f"files not received: {', '.join(missing)}"])
        for slot in offer.files:
            if slot.parent is not None:
                set_parent(self.images, Path(slot.path), Path(slot.parent))
        self.backend.adopt_vm(offer.record)
        self.store.drop_incoming(token)
        self._touched.pop(token, None)
        log.info("adopted VM %s from %s", offer.record.vm.id, offer.source_host)

    def abort(self, token: str | None, vm_id: UUID | None = None) -> None:
        """Drop the migration with `token`, or, without one, every
        migration of `vm_id` (whose token the source never learnt)."""
        with self._settling:
            found = self.store.incoming(token) if token else [r for r in self.store.incoming() if r.vm_id == vm_id]
            for record in found:
                self._remove_files(record)
                self.store.drop_incoming(record.token)
                self._touched.pop(record.token, None)
                log.info("dropped the migration of VM %s and its files", record.vm_id)

    def _arrived(self, record: Incoming, offer: MigrationOffer) -> None:
        """The hypervisor moved the VM itself: it is this host's once its
        hypervisor has it, persisted."""
        if record.vm_id not in self._owned():
            raise MigrationRefused([f"the virtual machine {record.vm_id} has not arrived on the destination's hypervisor"])
        self._adopt_snapshots(record.vm_id, offer)
        self.store.drop_incoming(record.token)
        self._touched.pop(record.token, None)
        log.info("VM %s arrived from %s through the hypervisor", record.vm_id, offer.source_host)

    def _adopt_snapshots(self, vm_id: UUID, offer: MigrationOffer) -> None:
        if not offer.disks or not offer.record.snapshot_definitions:
            return
        try:
            self.backend.adopt_snapshots(offer.record)  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - the VM is here and runs; its snapshots' data is in its files
            log.exception("VM %s arrived but its snapshots could not be redefined", vm_id)

    def _owned(self) -> set[UUID]:
        return {vm.id for vm in self.backend.list_vms()}  # type: ignore[attr-defined]

    def _taking_in(self) -> set[UUID]:
        """VMs the hypervisor is still moving here: neither this host's nor gone."""
        return self.backend.arriving_vms() if isinstance(self.backend, HypervisorMigration) else set()

    def _remove_files(self, record: Incoming) -> None:
        offer = MigrationOffer.model_validate_json(record.offer)
        if offer.disks:
            # Once the hypervisor has the VM the disks are its; else the
            # empty images made for it go.
            for slot in offer.files:
                self.roots.remove(partial_path(slot.path), "disk path")
            if record.vm_id not in self._owned():
                for path in ({d.path for d in offer.disks} | {slot.path for slot in offer.files}) - record.found:
                    self.roots.remove(path, "disk path")
            return
        for index, slot in enumerate(offer.files):
            self.roots.remove(partial_path(slot.path), "disk path")
            if index in record.received and slot.path not in record.found:
                self.roots.remove(slot.path, "disk path")

    def reconcile(self) -> None:
        """At start: a migration whose VM arrived whole is done; one the
        hypervisor still carries is left to its source; any other was cut
        short, and its files go. A VM a kill left half made here
        (defined, but not yet saved again with its memory) is released
        first: the source still has the VM, and asks whether this host
        owns it before it lets go."""
        owned, moving = self._owned(), self._taking_in()
        for record in self.store.incoming():
            offer = MigrationOffer.model_validate_json(record.offer)
            if record.vm_id in moving:
                continue  # the hypervisor still writes into its images: the source's commit or abort settles it
            if record.vm_id in owned and self._whole(offer):
                self._adopted_at_last(record, offer)
                continue
            if record.vm_id in owned and not self._released(record, offer):
                continue  # its files stay with it; the next start tries again
            self.abort(record.token)

    def _whole(self, offer: MigrationOffer) -> bool:
        """Whether the VM here is as it left its source: in its power state
        (a saved one with its memory image) with its snapshots. A VM the
        hypervisor moved live is whole once the hypervisor has it: its own
        hand-over is one step, and releasing the VM mid-way would race it."""
        if offer.disks:
            return True
        vm = self.backend.get_vm(offer.record.vm.id)  # type: ignore[attr-defined]
        if vm.power_state is not offer.record.vm.power_state:
            return False
        found = self.backend.list_snapshots(vm.id) if isinstance(self.backend, SnapshotBackend) else []
        return len(found) == len(offer.record.snapshots)

    def _released(self, record: Incoming, offer: MigrationOffer) -> bool:
        try:
            self.backend.release_vm(record.vm_id)
        except Exception:  # noqa: BLE001 - the hypervisor's reason, logged; one VM must not stop the host
            log.exception("could not release VM %s, half made here when the server stopped", record.vm_id)
            return False
        log.warning("VM %s was half made here when the server stopped: released; it stays on %s",
                    record.vm_id, offer.source_host)
        return True

    def _adopted_at_last(self, record: Incoming, offer: MigrationOffer) -> None:
        """The VM was made whole before the stop. Its memory image as it came
        may be left over: the hypervisor keeps the VM's memory in a save
        file of its own. A VM the hypervisor brought before the source's
        commit came gets its snapshots now, as the commit would have."""
        self._adopt_snapshots(record.vm_id, offer)
        if offer.record.saved_state is not None:
            self.roots.remove(offer.record.saved_state, "saved memory image")
        self.store.drop_incoming(record.token)
        self._touched.pop(record.token, None)

    def _record(self, token: str) -> Incoming:
        found = self.store.incoming(token) if token else []
        if not found:
            raise UploadRefused(403, "no migration holds this token (an aborted, finished or expired one holds none)")
        return found[0]
