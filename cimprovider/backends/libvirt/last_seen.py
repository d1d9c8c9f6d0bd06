"""What the backend last told the bus about each VM, kept across restarts.

libvirt keeps running while the server is down, and anyone may change it
then (virsh, the guest powering off). Keeping the last published state of
every VM lets the next start publish what changed meanwhile, as the
differences it would have published had it been running (see `changes`).
One row per VM and libvirt URI, written as each change is published."""

from __future__ import annotations

import logging
from pathlib import Path
from uuid import UUID

from pydantic import ValidationError

from cimprovider.database import Database
from cimprovider.schemas.power import VmCondition
from cimprovider.schemas.vm import VirtualMachine

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    uri TEXT NOT NULL, vm_id TEXT NOT NULL, vm TEXT NOT NULL, condition TEXT NOT NULL, PRIMARY KEY (uri, vm_id)
);
CREATE TABLE IF NOT EXISTS started (uri TEXT PRIMARY KEY);
"""


class LastSeen:
    def __init__(self, path: Path, uri: str) -> None:
        self._db = Database(path)
        self._uri = uri
        with self._db.transaction() as db:
            for statement in filter(str.strip, SCHEMA.split(";")):
                db.execute(statement)

    def load(self) -> dict[UUID, VirtualMachine] | None:
        """The VMs last published, or None if nothing was ever kept for this
        host (the first start: there is nothing to compare with)."""
        db = self._db.connection()
        if db.execute("SELECT 1 FROM started WHERE uri = ?", (self._uri,)).fetchone() is None:
            return None
        found: dict[UUID, VirtualMachine] = {}
        for vm_id, text, condition in db.execute("SELECT vm_id, vm, condition FROM seen WHERE uri = ?", (self._uri,)):
            try:
                vm = VirtualMachine.model_validate_json(text)
                found[UUID(vm_id)] = vm.model_copy(update={"condition": VmCondition.model_validate_json(condition)})
            except ValidationError as error:
                # Kept by another version: this VM's changes are not known.
                log.info("the last published state of VM %s is unreadable; it is taken as it is now: %s", vm_id, error)
        return found

    def start(self, vms: list[VirtualMachine]) -> None:
        """Keep `vms` as the first state known of this host."""
        with self._db.transaction() as db:
            db.execute("DELETE FROM seen WHERE uri = ?", (self._uri,))
            db.executemany("INSERT INTO seen (uri, vm_id, vm, condition) VALUES (?, ?, ?, ?)", [self._row(vm) for vm in vms])
            db.execute("INSERT OR IGNORE INTO started (uri) VALUES (?)", (self._uri,))

    def keep(self, vm_id: UUID, vm: VirtualMachine | None) -> None:
        with self._db.transaction() as db:
            if vm is None:
                db.execute("DELETE FROM seen WHERE uri = ? AND vm_id = ?", (self._uri, str(vm_id)))
            else:
                db.execute("INSERT OR REPLACE INTO seen (uri, vm_id, vm, condition) VALUES (?, ?, ?, ?)", self._row(vm))

    def _row(self, vm: VirtualMachine) -> tuple[str, str, str, str]:
        # The condition is a reading the VM's own JSON leaves out; kept here
        # so a change of health while the server was down is one too.
        return (self._uri, str(vm.id), vm.model_dump_json(), vm.condition.model_dump_json())

    def close(self) -> None:
        self._db.close()
