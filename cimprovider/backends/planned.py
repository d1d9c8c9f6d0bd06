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
