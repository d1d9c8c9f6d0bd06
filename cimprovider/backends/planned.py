"""Planned systems: VM definitions imported (or staged) but not yet made
real — Hyper-V's Msvm_PlannedComputerSystem. A planned system is only a
record: its definition names image files where they lie (in an export
folder); realizing it copies them into the storage roots and defines the
VM, which the CIM side does through `Backend.define_vm`. So a backend only
keeps the records, and removing one leaves nothing behind.

Optional, like snapshots: check with isinstance(backend, PlannedSystemBackend)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable
from uuid import UUID

from pydantic import Field

from cimprovider.schemas.base import SchemaModel
from cimprovider.schemas.snapshots import Snapshot
from cimprovider.schemas.vm import VirtualMachine


class PlannedSystem(SchemaModel):
    # The identifier the VM will have: the exported one, or a fresh one
    # when the import asked for a new system identifier.
    id: UUID
    # The definition as imported; drive media name absolute paths of the
    # images inside `source_folder`, already checked to lie within it.
    vm: VirtualMachine
    source_folder: str = Field(min_length=1)
    definition_file: str = Field(min_length=1)
    new_identifier: bool = False
    created_at: datetime
    # The snapshots imported with it (frozen disks inside `source_folder`),
    # oldest first, and the one its current state grew from.
    snapshots: tuple[Snapshot, ...] = ()
    current_snapshot_id: UUID | None = None


@runtime_checkable
class PlannedSystemBackend(Protocol):
    def list_planned_systems(self) -> list[PlannedSystem]: ...

    def get_planned_system(self, planned_id: UUID) -> PlannedSystem:
        """NotFoundError when there is none."""
        ...

    def add_planned_system(self, planned: PlannedSystem) -> PlannedSystem:
        """InvalidParameterError when a planned system with that id exists."""
        ...

    def remove_planned_system(self, planned_id: UUID) -> None:
        """NotFoundError when there is none."""
        ...


@runtime_checkable
class SnapshotAdoption(Protocol):
    """A backend that can take in snapshots realized from an import."""

    def adopt_snapshots(self, vm_id: UUID, snapshots: list[Snapshot], current_id: UUID | None, disks: list[str]) -> None:
        """Record `snapshots` (oldest first, their frozen disks already in
        the storage roots) for the off VM `vm_id`, as one change; `disks`
        are files made for them that the backend owns from now on (deleted
        once nothing reads them). InvalidParameterError on an id in use."""
        ...
