"""The host a backend manages and its virtual switches."""

from __future__ import annotations

from enum import Enum
from uuid import UUID, uuid4

from pydantic import Field

from cimprovider.schemas.base import SchemaModel


class NumaNode(SchemaModel):
    """A NUMA node of the host: its logical processors (by number) and memory."""

    id: int = Field(ge=0)
    processors: tuple[int, ...]
    memory_mb: int = Field(ge=0)
    free_memory_mb: int | None = Field(default=None, ge=0)


class Host(SchemaModel):
    name: str = Field(min_length=1)
    logical_processors: int = Field(ge=1)
    memory_mb: int = Field(ge=1)
    # Directories where images and VM files live (Hyper-V's default paths).
    storage_roots: tuple[str, ...] = ()
    hypervisor: str = "simulated"
    hypervisor_version: str = ""
    # The host's NUMA nodes; empty when the backend cannot tell (one node then).
    numa_nodes: tuple[NumaNode, ...] = ()

    def topology(self) -> tuple[NumaNode, ...]:
        if self.numa_nodes:
            return self.numa_nodes
        return (NumaNode(id=0, processors=tuple(range(self.logical_processors)), memory_mb=self.memory_mb),)


class SwitchType(str, Enum):
    EXTERNAL = "external"
    INTERNAL = "internal"
    PRIVATE = "private"


class VirtualSwitch(SchemaModel):
    id: UUID = Field(default_factory=uuid4)
    name: str = Field(min_length=1, max_length=100)
    switch_type: SwitchType = SwitchType.INTERNAL
    notes: str = ""
