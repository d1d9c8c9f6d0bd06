"""From a client's RASD (a PropertyBag) to a change of a device.

Adding: the kind comes from ResourceSubType (or ResourceType and class);
the values are applied onto a fresh device. Modifying: the InstanceID
locates the setting and the values are applied onto the device as it is.
An image (SASD) is the media of the drive its Parent names; a switch
connection (EPASD) is the switch of the NIC its Parent names — so adding
or removing either one modifies that drive or NIC. Every bad value is
32773 naming the CIM property."""

from __future__ import annotations

import os

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from pydantic import ValidationError

from cimprovider.providers.virtualization import ids, kinds
from cimprovider.providers.virtualization.embedded import PropertyBag
from cimprovider.providers.virtualization.errors import MethodFailure, invalid_parameter, INVALID_PARAMETER, NOT_FOUND
from cimprovider.providers.virtualization.kinds import ResourceKind
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.resources.display_settings import changed_display
from cimprovider.providers.virtualization.resources.host_disks import listed_disk
from cimprovider.providers.virtualization.resources.host_pci import offered_address
from cimprovider.providers.virtualization.resources.resources import CONNECTION, DEVICE, MEDIA, Setting, find_setting
from cimprovider.providers.virtualization.systems.settings import named_failure
from cimprovider.backends import InUseError
from cimprovider.schemas.devices import (
    AdapterType,
    Controller,
    ControllerType,
    Drive,
    DriveType,
    IntegrationService,
    Media,
    MemorySettings,
    NetworkAdapter,
    PciDevice,
    ProcessorSettings,
    SerialPort,
)
from cimprovider.schemas.vm import VirtualMachine

FIELD_PROPERTIES = {
    "count": "VirtualQuantity",
    "reservation_percent": "Reservation",
    "limit_percent": "Limit",
    "weight": "Weight",
    "startup_mb": "VirtualQuantity",
    "minimum_mb": "Reservation",
    "maximum_mb": "Limit",
    "buffer_percent": "TargetMemoryBuffer",
    "max_processors_per_numa_node": "MaxProcessorsPerNumaNode",
    "max_per_numa_node_mb": "MaxMemoryBlocksPerNumaNode",
    "dynamic_enabled": "DynamicMemoryEnabled",
    "number": "Address",
    "slot": "AddressOnParent",
    "controller_id": "Parent",
    "media": "HostResource",
    "path": "HostResource",
    "iops_limit": "IOPSLimit",
    "mac_address": "Address",
    "static_mac": "StaticMacAddress",
    "switch_id": "HostResource",
    "pipe_name": "Connection",
    "name": "ElementName",
}


@dataclass(frozen=True, slots=True)
class DeviceChange:
    """What the backend is asked to do; `result_aspect` says which setting
    of the device to name in ResultingResourceSettings."""

    operation: str  # "add" or "modify"
    device: Any
    kind: ResourceKind
    result_aspect: str


def _validated(model: type, values: dict[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise named_failure(error, FIELD_PROPERTIES) from None


def _locate_parent(virt: Virtualization, vm: VirtualMachine, bag: PropertyBag) -> Setting:
    text = bag.text("Parent")
    if not text:
        raise invalid_parameter("Parent", "is required")
    parsed = ids.parse_path_text(text)
    instance_id = parsed[1].get("instanceid") if parsed else None
    ref = ids.parse_setting_id(instance_id) if instance_id else None
    if ref is None or ref.vm_id != vm.id:
        raise invalid_parameter("Parent", f"{text!r} does not name a setting of VM {ids.guid(vm.id)}")
    setting = find_setting(virt, vm, instance_id)
    if setting is None:
        raise MethodFailure(NOT_FOUND, f"Parent: no setting {instance_id}")
    return setting


def _name(bag: PropertyBag, values: dict[str, Any], template_names: set[str]) -> None:
    name = bag.text("ElementName")
    if name is not None and name not in template_names:
        values["name"] = name


def _guid_from_identifiers(bag: PropertyBag) -> UUID | None:
    for item in bag.strings("VirtualSystemIdentifiers") or []:
        found = ids.parse_guid(item)
        if found is not None:
            return found
    return None


def apply(virt: Virtualization, vm: VirtualMachine, kind: ResourceKind, bag: PropertyBag, current: Any) -> DeviceChange:
    """`current` is the device being modified, or None for an add."""
    adding = current is None
    if kind in kinds.COMPONENT_KINDS:
        return _component_change(kind, bag, current)
    if kind is kinds.PROCESSOR:
        values = current.model_dump() if current else ProcessorSettings().model_dump()
        for prop, field, scale in (("VirtualQuantity", "count", 1), ("Reservation", "reservation_percent", 1000), ("Limit", "limit_percent", 1000), ("Weight", "weight", 1), ("MaxProcessorsPerNumaNode", "max_processors_per_numa_node", 1)):
            number = bag.integer(prop)
            if number is not None and scale != 1 and not 0 <= number <= 100 * scale:
                # Said in the client's unit (thousandths of a percent), not the schema's percent.
                raise invalid_parameter(prop, f"{number} is not between 0 and {100 * scale} (thousandths of a percent)")
            if number is not None:
                values[field] = number / scale if scale != 1 else number
        if values["reservation_percent"] > values["limit_percent"]:
            raise invalid_parameter("Reservation", f"{round(values['reservation_percent'] * 1000)} exceeds Limit "
                                    f"{round(values['limit_percent'] * 1000)} (thousandths of a percent)")
        for prop, field in (("LimitProcessorFeatures", "limit_processor_features"), ("ExposeVirtualizationExtensions", "expose_virtualization_extensions")):
            flag = bag.boolean(prop)
            if flag is not None:
                values[field] = flag
        return DeviceChange("modify", _validated(ProcessorSettings, values), kind, DEVICE)
    if kind is kinds.MEMORY:
        values = current.model_dump() if current else MemorySettings().model_dump()
        for prop, field in (("VirtualQuantity", "startup_mb"), ("Reservation", "minimum_mb"), ("Limit", "maximum_mb"), ("TargetMemoryBuffer", "buffer_percent"), ("MaxMemoryBlocksPerNumaNode", "max_per_numa_node_mb")):
            number = bag.integer(prop)
            if number is not None:
                values[field] = number
        flag = bag.boolean("DynamicMemoryEnabled")
        if flag is not None:
            values["dynamic_enabled"] = flag
        return DeviceChange("modify", _validated(MemorySettings, values), kind, DEVICE)
    if kind in (kinds.IDE_CONTROLLER, kinds.SCSI_CONTROLLER):
        ide = kind is kinds.IDE_CONTROLLER
        values = current.model_dump() if current else {"controller_type": ControllerType.IDE if ide else ControllerType.SCSI}
        if adding and not ide:
            values["id"] = _guid_from_identifiers(bag) or uuid4()
        _name(bag, values, {"IDE Controller", "SCSI Controller"})
        address = bag.integer("Address") if ide else None
        if address is not None:
            values["number"] = address
        return DeviceChange("add" if adding else "modify", _validated(Controller, values), kind, DEVICE)
    if kind in (kinds.DISK_DRIVE, kinds.DVD_DRIVE, kinds.PHYSICAL_DISK):
        values = current.model_dump() if current else {"drive_type": DriveType.DVD if kind is kinds.DVD_DRIVE else DriveType.DISK}
        if bag.has("Parent") or adding:
            parent = _locate_parent(virt, vm, bag)
            if not isinstance(parent.device, Controller) or parent.aspect != DEVICE:
                raise invalid_parameter("Parent", "must name a controller")
            values["controller_id"] = parent.device.id
        slot, address = bag.integer("AddressOnParent"), bag.integer("Address")
        if slot is None:
            slot = address
        elif address is not None and address != slot:
            raise invalid_parameter("Address", f"{address} is not the drive's AddressOnParent ({slot})")
        if slot is not None:
            values["slot"] = slot
        _name(bag, values, {"Hard Drive", "DVD Drive"})
        if kind is kinds.PHYSICAL_DISK:
            values["media"] = _host_disk(virt, bag, values.get("media"))
        elif bag.strings("HostResource"):
            raise invalid_parameter("HostResource", "names a host disk: pass-through disks are Physical Disk Drive resources")
        return DeviceChange("add" if adding else "modify", _validated(Drive, values), kind, DEVICE)
    if kind in (kinds.HARD_DISK, kinds.DVD_DISK):
        drive = current if current is not None else _drive_for_media(virt, vm, bag)
        paths = bag.at_most_one("HostResource") or []
        if not paths and drive.media is None:
            raise invalid_parameter("HostResource", "needs the path of the image file")
        media = drive.media.model_dump() if drive.media is not None else {}
        if paths:
            media["path"] = paths[0]
        access = bag.integer("Access")
        if access not in (None, 1, 3):
            raise invalid_parameter("Access", f"{access} is not 1 (read only) or 3 (read/write)")
        if access is not None:
            media["read_only"] = access == 1
        iops = bag.integer("IOPSLimit")
        if iops is not None:
            media["iops_limit"] = iops
        if "path" not in media:
            raise invalid_parameter("HostResource", "needs the path of the image file")
        changed = drive.model_dump()
        changed["media"] = _validated(Media, media).model_dump()
        updated = _validated(Drive, changed)
        _refuse_shared_image(virt, vm, updated)
        return DeviceChange("modify", updated, kind, MEDIA)
    if kind in (kinds.SYNTHETIC_NIC, kinds.EMULATED_NIC):
        values = current.model_dump() if current else {
            "adapter_type": AdapterType.EMULATED if kind is kinds.EMULATED_NIC else AdapterType.SYNTHETIC,
            "id": _guid_from_identifiers(bag) or uuid4(),
        }
        _name(bag, values, {"Network Adapter", "Legacy Network Adapter"} if adding else set())
        mac = bag.text("Address")
        if mac is not None:
            values["mac_address"] = mac or None
        static = bag.boolean("StaticMacAddress")
        if static is not None:
            values["static_mac"] = static
        return DeviceChange("add" if adding else "modify", _validated(NetworkAdapter, values), kind, DEVICE)
    if kind is kinds.CONNECTION:
        nic = current if current is not None else _nic_for_connection(virt, vm, bag)
        values = nic.model_dump()
        name = bag.text("ElementName")
        if name not in (None, nic.name, "Ethernet Connection"):
            raise invalid_parameter("ElementName", f"a switch connection bears its network adapter's name ({nic.name!r})")
        hosts = bag.at_most_one("HostResource")
        if hosts is not None:
            values["switch_id"] = _switch_id(virt, hosts) if hosts else None
        elif adding:
            raise invalid_parameter("HostResource", "needs the path of a virtual switch")
        state = bag.integer("EnabledState")
        if state is not None:
            if state not in (2, 3):
                raise invalid_parameter("EnabledState", f"{state} is not 2 (enabled) or 3 (disabled)")
            values["connected"] = state == 2
        elif adding:
            values["connected"] = True
        if values["switch_id"] is None:
            raise invalid_parameter("HostResource", "needs the path of a virtual switch")
        return DeviceChange("modify", _validated(NetworkAdapter, values), kind, CONNECTION)
    if kind is kinds.SERIAL_PORT:
        if current is None:
            raise invalid_parameter("ResourceType", "a VM has COM 1 and COM 2 already; modify them")
        values = current.model_dump()
        connection = bag.at_most_one("Connection")
        if connection is not None:
            values["pipe_name"] = connection[0] if connection and connection[0] else None
        return DeviceChange("modify", _validated(SerialPort, values), kind, DEVICE)
    if kind in kinds.DISPLAY_KINDS:
        # `current` is the VM: its settings hold the display's.
        if current is None:
            raise invalid_parameter("ResourceType", "a VM has one display controller already; modify its settings")
        return DeviceChange("modify", changed_display(bag, current.settings), kind, DEVICE)
    if kind is kinds.PCI_EXPRESS:
        return DeviceChange("add" if adding else "modify", _pci_device(virt, bag, current), kind, DEVICE)
    raise MethodFailure(INVALID_PARAMETER, f"ResourceSubType: {kind.subtype} cannot be changed")


def _pci_device(virt: Virtualization, bag: PropertyBag, current: PciDevice | None) -> PciDevice:
    """The host device an Msvm_PciExpressSettingData names: one of the
    host's Msvm_PciExpress instances (host_pci.py). A device given stays
    that device; another one is removed and added."""
    functions = bag.integers("VirtualFunctions") if bag.has("VirtualFunctions") else None
    if functions not in (None, [], [0]):
        raise invalid_parameter("VirtualFunctions", f"{functions} asks for virtual functions; only the whole device (0) is given")
    hosts = bag.at_most_one("HostResource")
    if not hosts:
        if current is not None:
            return current
        raise invalid_parameter("HostResource", "needs the path of a host PCI Express device (Msvm_PciExpress)")
    address = offered_address(virt, hosts[0])
    if address is None:
        raise invalid_parameter("HostResource", f"{hosts[0]!r} is not a PCI Express device this host offers for pass-through")
    if current is not None and address != current.address:
        raise invalid_parameter("HostResource", "names another device: remove this one and add that one")
    return _validated(PciDevice, {"id": current.id if current else _guid_from_identifiers(bag) or uuid4(), "address": address})


def _host_disk(virt: Virtualization, bag: PropertyBag, current: dict[str, Any] | None) -> Media:
    """The pass-through medium a Physical Disk Drive RASD names: one of the
    host's Msvm_DiskDrive instances (host_disks.py), by its path."""
    hosts = bag.at_most_one("HostResource")
    if not hosts:
        if current is not None:
            return _validated(Media, current)
        raise invalid_parameter("HostResource", "needs the path of a host disk (Msvm_DiskDrive) to pass through")
    path = listed_disk(virt, hosts[0])
    if path is None:
        raise invalid_parameter("HostResource", f"{hosts[0]!r} is not a pass-through disk this host offers")
    return _validated(Media, {"path": path, "passthrough": True})


def _component_change(kind: ResourceKind, bag: PropertyBag, current: IntegrationService | None) -> DeviceChange:
    """Hyper-V turns an integration component on or off through its
    setting's EnabledState; the components themselves come with the VM."""
    if current is None:
        raise invalid_parameter("ResourceType", f"the {kind.subtype_name.lower()} comes with the VM; modify its EnabledState")
    values = current.model_dump()
    state = bag.integer("EnabledState")
    if state is not None:
        if state not in (2, 3):
            raise invalid_parameter("EnabledState", f"{state} is not 2 (enabled) or 3 (disabled)")
        values["enabled"] = state == 2
    return DeviceChange("modify", _validated(IntegrationService, values), kind, DEVICE)


def _refuse_shared_image(virt: Virtualization, vm: VirtualMachine, drive: Drive) -> None:
    """A writable disk image belongs to one VM at a time (two guests writing
    one file would corrupt it); ISOs and read-only images may be shared."""
    media = drive.media
    if media is None or media.read_only or drive.drive_type is not DriveType.DISK:
        return
    wanted = _same_file_key(media.path)
    for other in virt.backend.list_vms():
        for used in other.drives:
            # The drive itself (a modify keeps its file); another drive of this VM counts like another VM's.
            if used.media is None or used.drive_type is not DriveType.DISK or used.id == drive.id:
                continue
            if wanted in {_same_file_key(p) for p in (used.media.path, used.media.attached_path) if p}:
                owner = "this virtual machine, on another drive" if other.id == vm.id else f"virtual machine '{other.name}'"
                raise InUseError(f"HostResource: {media.path} is already attached to {owner}")


def _same_file_key(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


def _drive_for_media(virt: Virtualization, vm: VirtualMachine, bag: PropertyBag) -> Drive:
    parent = _locate_parent(virt, vm, bag)
    if not isinstance(parent.device, Drive) or parent.aspect != DEVICE:
        raise invalid_parameter("Parent", "must name a disk or DVD drive")
    return parent.device


def _nic_for_connection(virt: Virtualization, vm: VirtualMachine, bag: PropertyBag) -> NetworkAdapter:
    parent = _locate_parent(virt, vm, bag)
    if not isinstance(parent.device, NetworkAdapter) or parent.aspect != DEVICE:
        raise invalid_parameter("Parent", "must name a network adapter")
    if parent.device.switch_id is not None:
        raise MethodFailure(INVALID_PARAMETER, "Parent: the network adapter is already connected; modify its connection")
    return parent.device


def _switch_id(virt: Virtualization, hosts: list[str]) -> UUID:
    parsed = ids.parse_path_text(hosts[0])
    name = parsed[1].get("name") if parsed else None
    switch = ids.parse_guid(name) if name else None
    if switch is None:
        raise invalid_parameter("HostResource", f"{hosts[0]!r} does not name a virtual switch")
    return switch


def kind_of_new(bag: PropertyBag) -> ResourceKind:
    kind = kinds.kind_for(bag.text("ResourceSubType"), bag.integer("ResourceType"), bag.classname)
    if kind is None:
        raise invalid_parameter("ResourceSubType", f"{bag.text('ResourceSubType')!r} is not a resource this host can add")
    _of_its_class(kind, bag)
    return kind


def _of_its_class(kind: ResourceKind, bag: PropertyBag) -> None:
    if kinds.another_kinds_class(kind, bag.classname):
        raise invalid_parameter("ResourceSettings", f"a {kind.subtype_name.lower()}'s settings are an instance of "
                                f"{kind.classname}, not of {bag.classname}")


def locate(virt: Virtualization, bag: PropertyBag) -> tuple[VirtualMachine, Setting]:
    """The VM and setting a modified RASD's InstanceID names."""
    instance_id = bag.text("InstanceID")
    ref = ids.parse_setting_id(instance_id) if instance_id else None
    if ref is None:
        raise invalid_parameter("InstanceID", f"{instance_id!r} does not name a virtual machine's setting")
    vm = virt.find_vm(ref.vm_id)
    if vm is None and virt.snapshot_view(ref.vm_id) is not None:
        raise invalid_parameter("InstanceID", f"{instance_id} is a snapshot's setting, which cannot be changed: "
                                "apply the snapshot, then change the VM's")
    setting = find_setting(virt, vm, instance_id) if vm is not None else None
    if vm is None or setting is None:
        raise MethodFailure(NOT_FOUND, f"InstanceID: no setting {instance_id}")
    _of_its_class(setting.kind, bag)
    return vm, setting
