"""The host a backend manages and its virtual switches."""

from __future__ import annotations

from enum import Enum
from uuid import UUID, uuid4

from pydantic import Field

from cimprovider.schemas.base import SchemaModel


class Host(SchemaModel):
    name: str = Field(min_length=1)
    logical_processors: int = Field(ge=1)
    memory_mb: int = Field(ge=1)
    # Directories where images and VM files live (Hyper-V's default paths).
    storage_roots: tuple[str, ...] = ()
    hypervisor: str = "simulated"
    hypervisor_version: str = ""


class SwitchType(str, Enum):
    EXTERNAL = "external"
    INTERNAL = "internal"
    PRIVATE = "private"


class VirtualSwitch(SchemaModel):
    id: UUID = Field(default_factory=uuid4)
    name: str = Field(min_length=1, max_length=100)
    switch_type: SwitchType = SwitchType.INTERNAL
    notes: str = ""
