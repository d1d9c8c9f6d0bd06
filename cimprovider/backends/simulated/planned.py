"""Planned systems for the simulated host (the `PlannedSystemBackend`
contract): one JSON document per planned system in the store, beside the
VMs. A mixin of SimulatedBackend, using its lock and store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from cimprovider.backends.errors import InvalidParameterError, NotFoundError
from cimprovider.backends.planned import PlannedSystem

if TYPE_CHECKING:
    from cimprovider.backends.simulated.store import SimulatedStore


class PlannedOperations:
    _lock: Any
    _store: "SimulatedStore"
    _check_open: Any

    def _load_planned(self) -> None:
        self._planned: dict[UUID, PlannedSystem] = {}
        for document in self._store.load_planned_systems():
            planned = PlannedSystem.model_validate_json(document)
            self._planned[planned.id] = planned

    def list_planned_systems(self) -> list[PlannedSystem]:
        return list(self._planned.values())

    def get_planned_system(self, planned_id: UUID) -> PlannedSystem:
        try:
            return self._planned[planned_id]
        except KeyError:
            raise NotFoundError(f"no planned virtual machine {planned_id}") from None

    def add_planned_system(self, planned: PlannedSystem) -> PlannedSystem:
        with self._lock:
            self._check_open()
            if planned.id in self._planned:
                raise InvalidParameterError("id", f"a planned virtual machine {planned.id} already exists")
            with self._store.transaction() as db:
                self._store.put_planned_system(db, str(planned.id), planned.model_dump_json())
            self._planned[planned.id] = planned
            return planned

    def remove_planned_system(self, planned_id: UUID) -> None:
        with self._lock:
            self._check_open()
            self.get_planned_system(planned_id)
            with self._store.transaction() as db:
                self._store.delete_planned_system(db, str(planned_id))
            del self._planned[planned_id]
