"""Snapshots (Hyper-V's checkpoints) in hypervisor terms.

A snapshot keeps the VM as it was — settings and resources, whose disk
drives name the disk files frozen at that moment — and its place in the
VM's tree. The VM itself runs on from differencing children of those files,
so applying a snapshot can restore the disks' content by giving the VM fresh
children of the frozen files.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

from pydantic import Field

from cimprovider.schemas.base import SchemaModel
from cimprovider.schemas.vm import VirtualMachine


class SnapshotKind(str, Enum):
    STANDARD = "standard"  # with the memory of a VM that was not off
    PRODUCTION = "production"  # taken with the guest's help; never holds memory
    RECOVERY = "recovery"  # taken by the host for backup or replication


NAME_MAX = 100  # characters in a snapshot's name


class Snapshot(SchemaModel):
    id: UUID
    vm_id: UUID
    name: str = Field(min_length=1, max_length=NAME_MAX)
    kind: SnapshotKind = SnapshotKind.STANDARD
    # The snapshot this one was taken from (None: the root of the tree).
    parent_id: UUID | None = None
    created_at: datetime
    # The VM at that moment; its drives name the frozen disk files.
    vm: VirtualMachine
    # Applying it leaves the VM saved (memory kept) rather than off.
    has_saved_state: bool = False
    # The frozen files the VM was moved off (children were made of them);
    # other drives' media are kept by reference only.
    frozen_disks: tuple[str, ...] = ()


class SnapshotPosition(SchemaModel):
    """Where a VM stands in its tree: the snapshot its current state grew
    from (Hyper-V's most current snapshot in the branch) and the last one
    applied to it."""

    vm_id: UUID
    current_id: UUID | None = None
    last_applied_id: UUID | None = None
