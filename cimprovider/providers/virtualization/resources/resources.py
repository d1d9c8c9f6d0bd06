"""A VM's resources as Hyper-V's setting data: processor, memory,
controllers, drives and their images, network adapters and their switch
connections, serial ports, host PCI devices, integration components — each in its own
class, siblings under CIM_ResourceAllocationSettingData (so a query on Msvm_RASD never returns
memory, processor, SASD or EPASD) — and the way back from an InstanceID to
the device."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cimprovider.providers.virtualization import ids, kinds
from cimprovider.providers.virtualization.resources.display_settings import display_guid, display_kind, resolution_values
from cimprovider.providers.virtualization.resources.host_disks import disk_path_text
from cimprovider.providers.virtualization.resources.host_pci import device_path_text
from cimprovider.providers.virtualization.resources.integration_settings import component_kind, component_values
from cimprovider.providers.virtualization.kinds import ResourceKind
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.schemas.devices import (
    AdapterType,
    Controller,
    ControllerType,
    Drive,
    DriveType,
    MemorySettings,
    NetworkAdapter,
    PciDevice,
    ProcessorSettings,
    SerialPort,
)
from cimprovider.schemas.vm import VirtualMachine

Values = dict[str, Any]

# Which part of a device a setting describes: the device itself, the image
# in a drive (SASD), or a NIC's switch connection (EPASD).
DEVICE, MEDIA, CONNECTION = "device", "media", "connection"


@dataclass(frozen=True, slots=True)
class Setting:
    kind: ResourceKind
    device: Any  # a schemas device
    aspect: str
    values: Values

    @property
    def instance_id(self) -> str:
        return self.values["InstanceID"]


def common(kind: ResourceKind, instance_id: str, name: str) -> Values:
    return {
        "InstanceID": instance_id,
        "Caption": name,
        "Description": f"Settings for the {name.lower()}.",
        "ElementName": name,
        "ResourceType": kind.resource_type,
        "ResourceSubType": kind.subtype,
        "PoolID": "",
        "ConsumerVisibility": 3,
        "AllocationUnits": kind.allocation_units,
        "VirtualQuantity": 1,
        "Reservation": 0,
        "Limit": 1,
        "Weight": 0,
        "AutomaticAllocation": True,
        "AutomaticDeallocation": True,
        "HostResource": [],
        "Connection": None,
        "MappingBehavior": None,
        "VirtualQuantityUnits": "count",
    }


def processor_values(instance_id: str, cpu: ProcessorSettings) -> Values:
    values = common(kinds.PROCESSOR, instance_id, "Processor")
    values.update(
        VirtualQuantity=cpu.count,
        Reservation=int(round(cpu.reservation_percent * 1000)),
        Limit=int(round(cpu.limit_percent * 1000)),
        Weight=cpu.weight,
        LimitProcessorFeatures=cpu.limit_processor_features,
        ExposeVirtualizationExtensions=cpu.expose_virtualization_extensions,
        LimitCPUID=False,
        HwThreadsPerCore=1,
        MaxProcessorsPerNumaNode=cpu.max_processors_per_numa_node,
        MaxNumaNodesPerSocket=1,
        EnableHostResourceProtection=False,
        HidePartitionPresence=False,
    )
    return values


def memory_values(instance_id: str, memory: MemorySettings) -> Values:
    values = common(kinds.MEMORY, instance_id, "Memory")
    values.update(
        VirtualQuantity=memory.startup_mb,
        Reservation=memory.minimum_mb,
        Limit=memory.maximum_mb,
        Weight=5000,
        VirtualQuantityUnits="byte * 2^20",
        DynamicMemoryEnabled=memory.dynamic_enabled,
        TargetMemoryBuffer=memory.buffer_percent,
        IsVirtualized=True,
        SwapFilesInUse=False,
        MaxMemoryBlocksPerNumaNode=memory.max_per_numa_node_mb or memory.maximum_mb,
        SgxEnabled=False,
        HugePagesEnabled=False,
    )
    return values


def controller_values(vm_id: UUID, controller: Controller) -> Values:
    if controller.controller_type is ControllerType.IDE:
        values = common(kinds.IDE_CONTROLLER, ids.ide_controller_id(vm_id, controller.number or 0), controller.name or "IDE Controller")
        values["Address"] = str(controller.number)
    else:
        values = common(kinds.SCSI_CONTROLLER, ids.scsi_controller_id(vm_id, controller.id), controller.name or "SCSI Controller")
        values["VirtualSystemIdentifiers"] = ["{" + str(controller.id) + "}"]
    return values


def drive_values(virt: Virtualization, vm: VirtualMachine, drive: Drive) -> Values:
    controller = vm.controller(drive.controller_id)
    parent_id = ids.controller_instance_id(vm.id, controller) if controller else ""
    kind = drive_kind(drive)
    values = common(kind, ids.drive_id(parent_id, drive.slot or 0), drive.name or ("DVD Drive" if kind is kinds.DVD_DRIVE else "Hard Drive"))
    values.update(
        Parent=virt.text(virt.setting_path(kinds.RASD, parent_id)),
        AddressOnParent=str(drive.slot),
        Address=str(drive.slot),
        VirtualSystemIdentifiers=["{" + str(drive.id) + "}"],
    )
    if kind is kinds.PHYSICAL_DISK:
        assert drive.media is not None
        values["HostResource"] = [_host_disk_text(virt, drive.media.path)]
    return values


def _host_disk_text(virt: Virtualization, path: str) -> str:
    # A disk attached before the admin took it off the list keeps its bare path.
    return disk_path_text(virt, path) if path in virt.backend.host_info().passthrough_disks else path


def drive_kind(drive: Drive) -> ResourceKind:
    if drive.drive_type is DriveType.DVD:
        return kinds.DVD_DRIVE
    return kinds.PHYSICAL_DISK if drive.media is not None and drive.media.passthrough else kinds.DISK_DRIVE


def media_values(virt: Virtualization, drive_values_: Values, drive: Drive) -> Values:
    assert drive.media is not None
    kind = kinds.DVD_DISK if drive.drive_type is DriveType.DVD else kinds.HARD_DISK
    values = common(kind, ids.media_id(drive_values_["InstanceID"]), "ISO Disk Image" if kind is kinds.DVD_DISK else "Hard Disk Image")
    values.update(
        Parent=virt.text(virt.setting_path(kinds.RASD, drive_values_["InstanceID"])),
        HostResource=[drive.media.attached_path or drive.media.path],  # the file the client attached
        Access=1 if drive.media.read_only else 3,
        VirtualResourceBlockSize=1,
        HostResourceBlockSize=1,
        IOPSLimit=drive.media.iops_limit,
        IOPSReservation=0,
        IOPSAllocationUnits="count per second * 8192",
        PersistentReservationsSupported=False,
        CachingMode=0,
        IgnoreFlushes=False,
        WriteHardeningMethod=0,
    )
    return values


def nic_values(vm_id: UUID, nic: NetworkAdapter) -> tuple[ResourceKind, Values]:
    emulated = nic.adapter_type is AdapterType.EMULATED
    kind = kinds.EMULATED_NIC if emulated else kinds.SYNTHETIC_NIC
    values = common(kind, ids.device_setting_id(vm_id, nic.id), nic.name)
    values.update(Address=nic.mac_address, StaticMacAddress=nic.static_mac, ClusterMonitored=True)
    if not emulated:
        values.update(VirtualSystemIdentifiers=["{" + str(nic.id) + "}"], DeviceNamingEnabled=False, InterruptModeration=True)
    return kind, values


def connection_values(virt: Virtualization, nic_kind: ResourceKind, nic_values_: Values, nic: NetworkAdapter) -> Values:
    assert nic.switch_id is not None
    values = common(kinds.CONNECTION, ids.connection_id(nic_values_["InstanceID"]), nic.name)
    values.update(
        Parent=virt.text(virt.setting_path(nic_kind.classname, nic_values_["InstanceID"])),
        HostResource=[virt.text(virt.switch_path(nic.switch_id))],
        EnabledState=2 if nic.connected else 3,
        RequiredFeatures=[],
        RequiredFeatureHints=[],
    )
    return values


def serial_values(vm_id: UUID, port: SerialPort) -> Values:
    values = common(kinds.SERIAL_PORT, ids.device_setting_id(vm_id, port.id), port.name)
    values.update(Connection=[port.pipe_name] if port.pipe_name else [""], DebuggerMode=False)
    return values


def pci_values(virt: Virtualization, vm_id: UUID, device: PciDevice) -> Values:
    values = common(kinds.PCI_EXPRESS, ids.device_setting_id(vm_id, device.id), "PCI Express Port")
    values.update(
        HostResource=[device_path_text(virt, device.address)],
        VirtualFunctions=[0],
        VirtualSystemIdentifiers=["{" + str(device.id) + "}"],
    )
    return values


def display_values(vm: VirtualMachine) -> Values:
    kind = display_kind(vm.generation)
    values = common(kind, ids.device_setting_id(vm.id, display_guid(vm.id, "controller")), kind.subtype_name)
    values.update(resolution_values(vm), VirtualSystemIdentifiers=["{" + str(display_guid(vm.id, "controller")) + "}"])
    return values


def vm_settings(virt: Virtualization, vm: VirtualMachine) -> list[Setting]:
    """Every resource setting of `vm`, in Hyper-V's usual order. Cached per
    VM until a bus event about it."""
    cached = virt.cached("settings", vm.id)
    if cached is not None:
        return cached
    found = [
        Setting(kinds.PROCESSOR, vm.processor, DEVICE, processor_values(ids.processor_id(vm.id), vm.processor)),
        Setting(kinds.MEMORY, vm.memory, DEVICE, memory_values(ids.memory_id(vm.id), vm.memory)),
    ]
    for controller in vm.controllers:
        values = controller_values(vm.id, controller)
        kind = kinds.IDE_CONTROLLER if controller.controller_type is ControllerType.IDE else kinds.SCSI_CONTROLLER
        found.append(Setting(kind, controller, DEVICE, values))
    for drive in vm.drives:
        values = drive_values(virt, vm, drive)
        kind = drive_kind(drive)
        found.append(Setting(kind, drive, DEVICE, values))
        if drive.media is not None and kind is not kinds.PHYSICAL_DISK:
            media = media_values(virt, values, drive)
            found.append(Setting(kinds.DVD_DISK if drive.drive_type is DriveType.DVD else kinds.HARD_DISK, drive, MEDIA, media))
    for nic in vm.network_adapters:
        kind, values = nic_values(vm.id, nic)
        found.append(Setting(kind, nic, DEVICE, values))
        if nic.switch_id is not None:
            found.append(Setting(kinds.CONNECTION, nic, CONNECTION, connection_values(virt, kind, values, nic)))
    for port in vm.serial_ports:
        found.append(Setting(kinds.SERIAL_PORT, port, DEVICE, serial_values(vm.id, port)))
    # The VM stands for its display controller, whose settings are the VM's.
    found.append(Setting(display_kind(vm.generation), vm, DEVICE, display_values(vm)))
    for device in vm.pci_devices:
        found.append(Setting(kinds.PCI_EXPRESS, device, DEVICE, pci_values(virt, vm.id, device)))
    for service in vm.integration_services:
        kind = component_kind(service)
        if kind is not None:
            found.append(Setting(kind, service, DEVICE, component_values(virt, vm, kind, service)))
    virt.remember("settings", vm.id, found, vm)
    return found


def find_setting(virt: Virtualization, vm: VirtualMachine, instance_id: str) -> Setting | None:
    wanted = _normalise(instance_id)
    return next((s for s in vm_settings(virt, vm) if _normalise(s.instance_id) == wanted), None)


def _normalise(instance_id: str) -> str:
    return "\\".join(p for p in instance_id.replace("/", "\\").split("\\") if p).lower()


def settings_of_class(virt: Virtualization, vm: VirtualMachine, classname: str) -> Iterator[Setting]:
    lowered = classname.lower()
    return (s for s in vm_settings(virt, vm) if s.kind.classname.lower() == lowered)
