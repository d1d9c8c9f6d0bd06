"""The host a backend manages and its virtual switches."""

from __future__ import annotations

from enum import Enum
from uuid import UUID, uuid4

from typing import Any

from pydantic import Field, model_validator

from cimprovider.schemas.base import SchemaModel
from cimprovider.schemas.devices import PCI_ADDRESS
from cimprovider.schemas.network import SwitchBandwidth


class NumaNode(SchemaModel):
    """A NUMA node of the host: its logical processors (by number) and memory."""

    id: int = Field(ge=0)
    processors: tuple[int, ...]
    memory_mb: int = Field(ge=0)
    free_memory_mb: int | None = Field(default=None, ge=0)


class HostPciDevice(SchemaModel):
    """A host PCI device an admin allowed VMs to be given (pass-through)."""

    address: str = Field(pattern=PCI_ADDRESS)
    vendor_id: str = Field(pattern=r"^[0-9A-F]{4}$")
    product_id: str = Field(pattern=r"^[0-9A-F]{4}$")
    name: str = ""


class Host(SchemaModel):
    name: str = Field(min_length=1)
    logical_processors: int = Field(ge=1)
    memory_mb: int = Field(ge=1)
    # Directories where images and VM files live (Hyper-V's default paths).
    storage_roots: tuple[str, ...] = ()
    # Host disks VMs may be given whole, as the admin listed them.
    passthrough_disks: tuple[str, ...] = ()
    # Host PCI devices VMs may be given, those the admin allowed that exist.
    pci_devices: tuple[HostPciDevice, ...] = ()
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
    """A switch's kind follows from its ports, as on Hyper-V: bound to a
    host adapter it is external, with a port for the host internal, with
    neither private. `switch_type` is derived from them whenever they are
    given; a document holding only a type (older stores) gets the ports
    that type implies. Without either, a switch is private."""

    id: UUID = Field(default_factory=uuid4)
    name: str = Field(min_length=1, max_length=100)
    switch_type: SwitchType = SwitchType.INTERNAL
    notes: str = ""
    external_adapter: str | None = Field(default=None, min_length=1, max_length=64)
    host_connected: bool = False
    # Whether the switch passes traffic now (libvirt: the network is active).
    active: bool = True
    # Msvm_VirtualEthernetSwitchSettingData.BandwidthReservationMode: 0 default, 1 weight, 2 absolute, 3 none.
    bandwidth_reservation_mode: int = Field(default=2, ge=0, le=3)
    bandwidth: SwitchBandwidth | None = None

    @model_validator(mode="before")
    @classmethod
    def _kind_from_ports(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        values = dict(values)
        if "host_connected" not in values and "external_adapter" not in values and "switch_type" in values:
            kind = SwitchType(values.get("switch_type", SwitchType.INTERNAL))
            values["host_connected"] = kind is not SwitchType.PRIVATE
            return values
        if values.get("external_adapter"):
            values["switch_type"] = SwitchType.EXTERNAL
        elif values.get("host_connected"):
            values["switch_type"] = SwitchType.INTERNAL
        else:
            values["switch_type"] = SwitchType.PRIVATE
        return values
