"""A running VM's snapshot metadata, set aside while libvirt migrates it
(libvirt refuses to migrate a domain that has some). Written to the data
directory first (`migrating-snapshots/<vm id>.json`, each snapshot's XML
parents first and the current one's name), so a server killed during the
move gets it back at its next start: if the VM is still here (the move
did not finish) its snapshots are redefined; if libvirt took it away,
the destination has them and the file goes. A mixin of LibvirtBackend."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import libvirt

from cimprovider.backends.errors import BackendError, NotFoundError

if TYPE_CHECKING:
    from cimprovider.backends.libvirt.backend import LibvirtBackend

log = logging.getLogger(__name__)
SET_ASIDE_FOLDER = "migrating-snapshots"


class SnapshotsSetAside:
    def _aside_file(self: "LibvirtBackend", vm_id: UUID) -> Path:
        return self._config.data_dir / SET_ASIDE_FOLDER / f"{vm_id}.json"

    def _set_snapshots_aside(self: "LibvirtBackend", domain: libvirt.virDomain, vm_id: UUID,
                             definitions: tuple[str, ...], current: str | None) -> None:
        """Kept on disk, then dropped from libvirt, children first; the
        snapshots' data stays in the VM's files."""
        file = self._aside_file(vm_id)
        file.parent.mkdir(parents=True, exist_ok=True)
        partial = file.with_suffix(".partial")
        with open(partial, "w") as handle:
            json.dump({"definitions": list(definitions), "current": current}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, file)
        found = self._call(lambda: domain.listAllSnapshots(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL),
                           "list the VM's snapshots")
        for snapshot in reversed(found):
            self._call(lambda s=snapshot: s.delete(libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY),
                       f"set the snapshot {snapshot.getName()} aside for the move")

    def _snapshots_back(self: "LibvirtBackend", domain: libvirt.virDomain, vm_id: UUID) -> None:
        """The move failed: the VM is here and gets its snapshots again."""
        file = self._aside_file(vm_id)
        kept = json.loads(file.read_text())
        self._redefine_snapshots(domain, tuple(kept["definitions"]), kept["current"], {})
        file.unlink()

    def _snapshots_moved(self: "LibvirtBackend", vm_id: UUID) -> None:
        self._aside_file(vm_id).unlink(missing_ok=True)

    def _restore_set_aside_snapshots(self: "LibvirtBackend") -> None:
        """At start: what a move cut short by a kill left aside."""
        folder = self._config.data_dir / SET_ASIDE_FOLDER
        for file in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                vm_id = UUID(file.stem)
                domain = self._domain(vm_id)
            except (ValueError, NotFoundError):
                file.unlink()  # moved: the destination redefines them
                continue
            if _moving(domain):
                # libvirtd carries the move on without the server: its outcome settles them (see settle_set_aside).
                log.info("VM %s is still moving: its snapshots set aside wait for the move's end", vm_id)
                continue
            self._put_snapshots_back(domain, vm_id, "cut short")

    def settle_set_aside(self: "LibvirtBackend", vm_id: UUID) -> None:
        """A move found settled after a restart: a VM still here gets the
        snapshots set aside for it back; one that left drops them."""
        file = self._aside_file(vm_id)
        if not file.is_file():
            return
        try:
            domain = self._domain(vm_id)
        except NotFoundError:
            file.unlink(missing_ok=True)  # moved: the destination redefines them
            return
        self._put_snapshots_back(domain, vm_id, "settled")

    def _put_snapshots_back(self: "LibvirtBackend", domain: libvirt.virDomain, vm_id: UUID, how: str) -> None:
        """Redefines a VM's set-aside snapshots; a failure leaves the file
        for the next start to try again."""
        try:
            self._snapshots_back(domain, vm_id)
            log.info("VM %s stayed here when its move was %s: its snapshots are back", vm_id, how)
        except (BackendError, OSError, ValueError, KeyError) as error:
            log.warning("VM %s: its snapshots set aside for a move could not be redefined yet (%s); "
                        "tried again at the next start", vm_id, error)


def _moving(domain: libvirt.virDomain) -> bool:
    """Whether libvirt runs a job on the domain (its migration)."""
    try:
        return domain.jobInfo()[0] != libvirt.VIR_DOMAIN_JOB_NONE
    except libvirt.libvirtError:
        return False  # not running: no move
