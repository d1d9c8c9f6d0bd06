"""A virtual machine: its system settings and its resources.

`SystemSettings` is what DefineSystem and ModifySystemSettings carry (Hyper-V's
VirtualSystemSettingData in hypervisor words); `VirtualMachine` adds the
identity, power state and resources a backend knows.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal
from uuid import UUID

from pydantic import Field, field_validator, model_validator

from cimprovider.schemas.base import SchemaModel
from cimprovider.schemas.devices import (
    AdapterType,
    Controller,
    ControllerType,
    IntegrationService,
    default_integration_services,
    Drive,
    MemorySettings,
    NetworkAdapter,
    ProcessorSettings,
    PciDevice,
    SerialPort,
)
from cimprovider.schemas.integration import KvpItem
from cimprovider.schemas.power import PowerState, VmCondition


class AutomaticStartAction(str, Enum):
    NONE = "none"
    RESTART_IF_RUNNING = "restart_if_running"
    ALWAYS_START = "always_start"


class AutomaticStopAction(str, Enum):
    TURN_OFF = "turn_off"
    SAVE = "save"
    SHUTDOWN = "shutdown"


class SnapshotType(str, Enum):
    DISABLED = "disabled"
    PRODUCTION = "production"  # falls back to standard when the guest cannot
    PRODUCTION_ONLY = "production_only"
    STANDARD = "standard"


class SecureBootTemplate(str, Enum):
    """The keys the firmware trusts: Windows only, or also what the
    Microsoft UEFI Certificate Authority signed (Linux shims, option ROMs)."""

    MICROSOFT_WINDOWS = "microsoft_windows"
    MICROSOFT_UEFI_CA = "microsoft_uefi_ca"


# Hyper-V's ids for its templates, the same on every host.
SECURE_BOOT_TEMPLATE_IDS = {
    SecureBootTemplate.MICROSOFT_WINDOWS: UUID("1734c6e8-3154-4dda-ba5f-a874cc483422"),
    SecureBootTemplate.MICROSOFT_UEFI_CA: UUID("272e7447-90a4-4563-a4b9-8e4ab00526ce"),
}


class BootDevice(str, Enum):
    FLOPPY = "floppy"
    CD = "cd"
    IDE = "ide"
    NETWORK = "network"
    SCSI = "scsi"


class ResolutionType(str, Enum):
    """How the display's resolution is chosen (Hyper-V's ResolutionType)."""

    MAXIMUM = "maximum"  # the guest may pick any mode up to the resolution
    SINGLE = "single"  # the guest gets that one mode only
    DEFAULT = "default"  # the host's usual modes; the resolution is ignored


NOTES_LIMIT = 4000
SMBIOS_TEXT_LIMIT = 64
DEFAULT_BOOT_ORDER = (BootDevice.CD, BootDevice.IDE, BootDevice.NETWORK, BootDevice.FLOPPY)


class SystemSettings(SchemaModel):
    name: str = Field(min_length=1, max_length=100)
    # Hyper-V's Notes is a string array; each entry is kept as given (an
    # entry may hold several lines). A plain string is one entry.
    notes: tuple[str, ...] = ()
    generation: Literal[1, 2] = 1
    automatic_start_action: AutomaticStartAction = AutomaticStartAction.RESTART_IF_RUNNING
    automatic_start_delay_seconds: int = Field(default=0, ge=0, le=86400)
    automatic_stop_action: AutomaticStopAction = AutomaticStopAction.SAVE
    snapshot_type: SnapshotType = SnapshotType.PRODUCTION
    config_version: str = Field(default="9.0", pattern=r"^\d+\.\d+$")
    virtual_numa_enabled: bool = True
    secure_boot_enabled: bool = False  # generation 2 only
    secure_boot_template: SecureBootTemplate = SecureBootTemplate.MICROSOFT_WINDOWS
    # Generation 1 only: BIOS boot order (generation 2 boots from devices).
    boot_order: tuple[BootDevice, ...] = DEFAULT_BOOT_ORDER
    # Generation 2 only: the devices (drive and network adapter ids) to
    # boot from first, in order; devices not listed follow in their order.
    boot_source_order: tuple[UUID, ...] = ()
    # Where the VM's files go (Hyper-V's *DataRoot). None: the host's first
    # storage root. The CIM side confines each to the storage roots.
    configuration_data_root: str | None = Field(default=None, min_length=1, max_length=4096)
    snapshot_data_root: str | None = Field(default=None, min_length=1, max_length=4096)
    suspend_data_root: str | None = Field(default=None, min_length=1, max_length=4096)
    swap_file_data_root: str | None = Field(default=None, min_length=1, max_length=4096)
    log_data_root: str | None = Field(default=None, min_length=1, max_length=4096)
    guest_state_data_root: str | None = Field(default=None, min_length=1, max_length=4096)
    # What the guest's SMBIOS tables say (empty: nothing set).
    bios_serial_number: str = Field(default="", max_length=SMBIOS_TEXT_LIMIT)
    baseboard_serial_number: str = Field(default="", max_length=SMBIOS_TEXT_LIMIT)
    chassis_serial_number: str = Field(default="", max_length=SMBIOS_TEXT_LIMIT)
    chassis_asset_tag: str = Field(default="", max_length=SMBIOS_TEXT_LIMIT)
    # The display controller's settings (Msvm_SyntheticDisplayControllerSettingData):
    # kept with the VM's settings as the controller is neither added nor removed.
    display_resolution_type: ResolutionType = ResolutionType.DEFAULT
    display_horizontal_resolution: int = Field(default=1024, ge=640, le=7680)
    display_vertical_resolution: int = Field(default=768, ge=480, le=4320)

    @field_validator("notes", mode="before")
    @classmethod
    def _notes_entries(cls, value: object) -> object:
        if isinstance(value, str):
            value = (value,)
        if isinstance(value, (list, tuple)):
            value = tuple(value)
            if value == ("",):
                return ()  # Hyper-V shows no notes as one empty entry
            if sum(len(str(entry)) for entry in value) > NOTES_LIMIT:
                raise ValueError(f"at most {NOTES_LIMIT} characters in all")
        return value

    @model_validator(mode="after")
    def _generation_features(self) -> "SystemSettings":
        if self.secure_boot_enabled and self.generation == 1:
            raise ValueError("secure_boot_enabled: needs generation 2")
        if len(set(self.boot_order)) != len(self.boot_order):
            raise ValueError("boot_order: lists a device twice")
        if len(set(self.boot_source_order)) != len(self.boot_source_order):
            raise ValueError("boot_source_order: lists a device twice")
        return self


class VirtualMachine(SystemSettings):
    id: UUID
    power_state: PowerState = PowerState.OFF
    # What the hypervisor says of the guest's health (Msvm_ComputerSystem's
    # HealthState, OperationalStatus and StatusDescriptions). A reading, not
    # a setting: left out of what is stored or exported.
    condition: VmCondition = Field(default_factory=VmCondition, exclude=True)
    # Why the host refuses every change to the VM now (it migrates, or its
    # migration waits to be settled with the destination); empty while it
    # is free. Msvm_ComputerSystem shows it (OperationalStatus 32774, its
    # StatusDescriptions the reason). A reading too: never stored.
    held: str = Field(default="", exclude=True)
    processor: ProcessorSettings = Field(default_factory=ProcessorSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    controllers: tuple[Controller, ...] = ()
    drives: tuple[Drive, ...] = ()
    network_adapters: tuple[NetworkAdapter, ...] = ()
    serial_ports: tuple[SerialPort, ...] = ()
    pci_devices: tuple[PciDevice, ...] = ()
    integration_services: tuple[IntegrationService, ...] = Field(default_factory=default_integration_services)
    # Host-written items only; guest and intrinsic items are runtime figures.
    kvp_items: tuple[KvpItem, ...] = ()

    @property
    def settings(self) -> SystemSettings:
        return SystemSettings.model_validate(self.model_dump(include=set(SystemSettings.model_fields)))

    def controller(self, controller_id: UUID) -> Controller | None:
        return next((item for item in self.controllers if item.id == controller_id), None)

    def boot_devices(self) -> list[Drive | NetworkAdapter]:
        """Generation 2: what the firmware tries, in order — the devices
        `boot_source_order` lists, then the other drives and synthetic
        network adapters (UEFI has no driver for the emulated one) as added."""
        if self.generation != 2:
            return []
        candidates: dict[UUID, Drive | NetworkAdapter] = {drive.id: drive for drive in self.drives}
        candidates |= {nic.id: nic for nic in self.network_adapters if nic.adapter_type is AdapterType.SYNTHETIC}
        listed = [candidates.pop(device_id) for device_id in self.boot_source_order if device_id in candidates]
        return listed + list(candidates.values())

    @model_validator(mode="after")
    def _consistent_resources(self) -> "VirtualMachine":
        if self.generation == 2 and any(c.controller_type is ControllerType.IDE for c in self.controllers):
            raise ValueError("controllers: generation 2 VMs have no IDE controllers")
        seen_controllers: set[tuple[ControllerType, int]] = set()
        for controller in self.controllers:
            if controller.number is None:
                raise ValueError(f"controllers: controller {controller.id} has no number")
            place = (controller.controller_type, controller.number)
            if place in seen_controllers:
                raise ValueError(f"controllers: two {place[0].value} controllers numbered {place[1]}")
            seen_controllers.add(place)
        occupied: set[tuple[UUID, int]] = set()
        for drive in self.drives:
            if drive.slot is None:
                raise ValueError(f"drives: drive {drive.id} has no slot")
            controller = self.controller(drive.controller_id)
            if controller is None:
                raise ValueError(f"drives: controller {drive.controller_id} does not exist")
            if drive.slot >= controller.controller_type.slots:
                raise ValueError(f"drives: slot {drive.slot} is beyond the controller's {controller.controller_type.slots}")
            if (drive.controller_id, drive.slot) in occupied:
                raise ValueError(f"drives: slot {drive.slot} is taken twice")
            occupied.add((drive.controller_id, drive.slot))
        return self
