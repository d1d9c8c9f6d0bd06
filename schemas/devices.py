"""A VM's resources: processor, memory, controllers, drives with their media,
network adapters and serial ports.

Every resource has a stable GUID so the CIM side can form Hyper-V InstanceIDs
(`Microsoft:<VMGUID>\\<devGUID>\\…`). Processor and memory carry Hyper-V's
fixed GUIDs, because that is how real InstanceIDs for them look.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Literal, Union
from uuid import UUID, uuid4

from pydantic import Field, field_validator, model_validator

from cimprovider.schemas.base import SchemaModel
from cimprovider.schemas.integration import IntegrationServiceKind
from cimprovider.schemas.network import PortBandwidth, PortSecurity, PortVlan

PROCESSOR_ID = UUID("b637f346-6a0e-4dec-af52-bd70cb80a21d")
MEMORY_ID = UUID("4764334d-e001-4176-82ee-5594ec9b530e")

IDE_CONTROLLERS = 2
IDE_SLOTS = 2
SCSI_CONTROLLERS = 4
SCSI_SLOTS = 64
MAX_PROCESSORS = 240
MAX_MEMORY_MB = 12 * 1024 * 1024
MAX_IOPS = 1_000_000_000
MAX_PROCESSORS_PER_NODE = 64
IOPS_UNIT_BYTES = 8192


class DeviceKind(str, Enum):
    PROCESSOR = "processor"
    MEMORY = "memory"
    CONTROLLER = "controller"
    DRIVE = "drive"
    NETWORK_ADAPTER = "network_adapter"
    SERIAL_PORT = "serial_port"
    INTEGRATION_SERVICE = "integration_service"
    PCI_DEVICE = "pci_device"


class ProcessorSettings(SchemaModel):
    kind: Literal[DeviceKind.PROCESSOR] = DeviceKind.PROCESSOR
    id: UUID = PROCESSOR_ID
    count: int = Field(default=1, ge=1, le=MAX_PROCESSORS)
    # Percentages of one host processor per virtual processor (Hyper-V shows
    # them in thousandths: 100 % = 100000).
    reservation_percent: float = Field(default=0.0, ge=0, le=100)
    limit_percent: float = Field(default=100.0, ge=0, le=100)
    weight: int = Field(default=100, ge=0, le=10000)
    expose_virtualization_extensions: bool = False
    limit_processor_features: bool = False
    # Virtual NUMA: at most this many virtual processors per node.
    max_processors_per_numa_node: int = Field(default=MAX_PROCESSORS_PER_NODE, ge=1, le=MAX_PROCESSORS)

    @model_validator(mode="after")
    def _reservation_within_limit(self) -> "ProcessorSettings":
        if self.reservation_percent > self.limit_percent:
            raise ValueError("reservation_percent: must not exceed limit_percent")
        return self


class MemorySettings(SchemaModel):
    kind: Literal[DeviceKind.MEMORY] = DeviceKind.MEMORY
    id: UUID = MEMORY_ID
    startup_mb: int = Field(default=1024, ge=32, le=MAX_MEMORY_MB)
    dynamic_enabled: bool = False
    minimum_mb: int = Field(default=512, ge=32, le=MAX_MEMORY_MB)
    maximum_mb: int = Field(default=1048576, ge=32, le=MAX_MEMORY_MB)
    buffer_percent: int = Field(default=20, ge=5, le=2000)
    # Virtual NUMA: at most this much memory per node; None: no limit.
    max_per_numa_node_mb: int | None = Field(default=None, ge=2, le=MAX_MEMORY_MB)

    @field_validator("startup_mb", "minimum_mb", "maximum_mb", "max_per_numa_node_mb")
    @classmethod
    def _even(cls, value: int | None) -> int | None:
        # Hyper-V allocates memory in 2 MB units and refuses odd sizes.
        if value is not None and value % 2:
            raise ValueError("must be a multiple of 2 MB")
        return value

    @model_validator(mode="after")
    def _ordered_when_dynamic(self) -> "MemorySettings":
        if self.dynamic_enabled and not (self.minimum_mb <= self.startup_mb <= self.maximum_mb):
            raise ValueError("startup_mb: dynamic memory needs minimum_mb <= startup_mb <= maximum_mb")
        return self


class ControllerType(str, Enum):
    IDE = "ide"
    SCSI = "scsi"

    @property
    def slots(self) -> int:
        return IDE_SLOTS if self is ControllerType.IDE else SCSI_SLOTS


class Controller(SchemaModel):
    kind: Literal[DeviceKind.CONTROLLER] = DeviceKind.CONTROLLER
    id: UUID = Field(default_factory=uuid4)
    controller_type: ControllerType
    # IDE: 0 or 1 (Hyper-V's Address); SCSI: 0–3 in the order added.
    # None asks the backend for the first free number.
    number: int | None = Field(default=None, ge=0, lt=SCSI_CONTROLLERS)
    name: str = ""

    @model_validator(mode="after")
    def _ide_number(self) -> "Controller":
        if self.controller_type is ControllerType.IDE and (self.number or 0) >= IDE_CONTROLLERS:
            raise ValueError(f"number: an IDE controller is numbered 0 or 1, not {self.number}")
        return self


class DriveType(str, Enum):
    DISK = "disk"
    DVD = "dvd"


class Media(SchemaModel):
    """The image in a drive (Hyper-V's StorageAllocationSettingData)."""

    id: UUID = Field(default_factory=uuid4)
    path: str = Field(min_length=1, max_length=4096)
    read_only: bool = False
    # Hyper-V's storage QoS: at most this many I/O operations per second,
    # each counted in 8 KB units (an operation of 64 KB counts 8); 0 is no limit.
    iops_limit: int = Field(default=0, ge=0, le=MAX_IOPS)
    # A host disk given whole (Hyper-V's Physical Disk Drive): `path` is then
    # one of the configured passthrough_disks, not an image file.
    passthrough: bool = False
    # The file the client attached, when the hypervisor runs the disk on a
    # working copy of it (`path`; KVM's qcow2 copy of a VHD or VHDX): what
    # the client sees as HostResource. Content is read from `path`.
    attached_path: str | None = Field(default=None, max_length=4096)


class Drive(SchemaModel):
    kind: Literal[DeviceKind.DRIVE] = DeviceKind.DRIVE
    id: UUID = Field(default_factory=uuid4)
    drive_type: DriveType = DriveType.DISK
    controller_id: UUID
    # None asks the backend for the first free slot on the controller.
    slot: int | None = Field(default=None, ge=0, lt=SCSI_SLOTS)
    media: Media | None = None
    name: str = ""


MAC_PATTERN = re.compile(r"^[0-9A-F]{12}$")


class AdapterType(str, Enum):
    SYNTHETIC = "synthetic"
    EMULATED = "emulated"  # Hyper-V's "legacy network adapter"


class NetworkAdapter(SchemaModel):
    kind: Literal[DeviceKind.NETWORK_ADAPTER] = DeviceKind.NETWORK_ADAPTER
    id: UUID = Field(default_factory=uuid4)
    name: str = "Network Adapter"
    adapter_type: AdapterType = AdapterType.SYNTHETIC
    # 12 upper-case hex digits, no separators (Hyper-V's Address). None lets the
    # backend assign one from its pool, as Hyper-V does for dynamic MACs.
    mac_address: str | None = None
    static_mac: bool = False
    switch_id: UUID | None = None
    connected: bool = True
    # The switch port's features; they go with the connection.
    vlan: PortVlan | None = None
    security: PortSecurity | None = None
    bandwidth: PortBandwidth | None = None

    @field_validator("mac_address", mode="before")
    @classmethod
    def _normalise_mac(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.replace(":", "").replace("-", "").upper()
            if value == "000000000000":
                return None  # Hyper-V's way of saying "assign one"
            if not MAC_PATTERN.match(value):
                raise ValueError("must be 12 hexadecimal digits")
        return value


class SerialPort(SchemaModel):
    kind: Literal[DeviceKind.SERIAL_PORT] = DeviceKind.SERIAL_PORT
    id: UUID = Field(default_factory=uuid4)
    port_number: int = Field(ge=1, le=2)  # COM1 or COM2
    # A named pipe such as \\.\pipe\vm-com1; None leaves the port unconnected.
    pipe_name: str | None = Field(default=None, max_length=256)

    @property
    def name(self) -> str:
        return f"COM {self.port_number}"


# A PCI address as Linux and libvirt write it: domain:bus:slot.function.
PCI_ADDRESS = r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$"


class PciDevice(SchemaModel):
    """A host PCI device given to the VM whole (Hyper-V's Discrete Device
    Assignment): one the admin allowed (pci_passthrough_devices), named by
    its host address, and given to one VM at a time."""

    kind: Literal[DeviceKind.PCI_DEVICE] = DeviceKind.PCI_DEVICE
    id: UUID = Field(default_factory=uuid4)
    address: str = Field(pattern=PCI_ADDRESS)


# Hyper-V gives each integration service the same GUID on every VM.
INTEGRATION_SERVICE_IDS = {
    IntegrationServiceKind.SHUTDOWN: UUID("9f8233ac-be49-4c79-8ee3-e7e1985b2077"),
    IntegrationServiceKind.TIME_SYNC: UUID("2497f4de-e9fa-4204-80e4-4b75c46419c0"),
    IntegrationServiceKind.KVP_EXCHANGE: UUID("2a34b1c2-fd73-4043-8a5b-dd2159bc743f"),
    IntegrationServiceKind.HEARTBEAT: UUID("84eaae65-2f2e-45f5-9bb5-0e857dc8eb47"),
    IntegrationServiceKind.VSS: UUID("5ced1297-4598-4915-a5fc-ad21bb4d02a4"),
    IntegrationServiceKind.GUEST_SERVICES: UUID("6c09bb55-d683-4da0-8931-c9bf705f6480"),
}


class IntegrationService(SchemaModel):
    """Configured on the VM (enabled or not); present to the guest only while it runs."""

    kind: Literal[DeviceKind.INTEGRATION_SERVICE] = DeviceKind.INTEGRATION_SERVICE
    id: UUID
    service: IntegrationServiceKind
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _well_known_id(cls, values: object) -> object:
        if isinstance(values, dict) and values.get("id") is None and "service" in values:
            try:
                values = {**values, "id": INTEGRATION_SERVICE_IDS[IntegrationServiceKind(values["service"])]}
            except ValueError:
                pass  # the service field's own validation names the problem
        return values

    @model_validator(mode="after")
    def _id_matches_service(self) -> "IntegrationService":
        if self.id != INTEGRATION_SERVICE_IDS[self.service]:
            raise ValueError(f"id: the {self.service.value} service's id is {INTEGRATION_SERVICE_IDS[self.service]}")
        return self


def default_integration_services() -> tuple[IntegrationService, ...]:
    # Hyper-V enables all but guest services on a new VM.
    return tuple(
        IntegrationService(service=kind, enabled=kind is not IntegrationServiceKind.GUEST_SERVICES)
        for kind in IntegrationServiceKind
    )


Device = Annotated[
    Union[ProcessorSettings, MemorySettings, Controller, Drive, NetworkAdapter, SerialPort, IntegrationService, PciDevice],
    Field(discriminator="kind"),
]
