"""A generation 2 VM's boot sources: one Msvm_BootSourceSettingData per
drive and network adapter (Msvm_LogicalIdentity from each device's setting
to its boot source is in boot_identity.py), and the VSSD's
BootSourceOrder listing their paths in boot order.

os-win reorders by reading BootSourceOrder, upper-casing every path and
writing back the list it wants, so paths are matched here without regard
to case; the order is kept as the devices' ids (`boot_source_order`), and
a device it does not list boots after the listed ones."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.providers.base import InstanceProvider, OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids, kinds
from cimprovider.providers.virtualization.embedded import PropertyBag
from cimprovider.providers.virtualization.errors import invalid_parameter
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.resources.resources import drive_values, nic_values
from cimprovider.schemas.devices import ControllerType, Drive, DriveType, NetworkAdapter
from cimprovider.schemas.vm import SystemSettings, VirtualMachine

BSSD = "Msvm_BootSourceSettingData"
DRIVE_SOURCE, NETWORK_SOURCE = 1, 2


@dataclass(frozen=True, slots=True)
class BootSource:
    device: Drive | NetworkAdapter
    setting: CIMInstanceName  # the device's RASD: the LogicalIdentity's SystemElement
    values: dict[str, Any]

    @property
    def instance_id(self) -> str:
        return self.values["InstanceID"]


def boot_source_id(vm_id: UUID, device_id: UUID) -> str:
    return f"{ids.vssd_id(vm_id)}\\Boot\\{ids.guid(device_id)}"


def boot_sources(virt: Virtualization, vm: VirtualMachine) -> list[BootSource]:
    """The VM's boot sources in boot order (none on generation 1)."""
    found: list[BootSource] = []
    for device in vm.boot_devices():
        if isinstance(device, Drive):
            rasd = drive_values(virt, vm, device)
            what = "DVD" if device.drive_type is DriveType.DVD else "Disk"
            values = _values(vm, device.id, DRIVE_SOURCE, f"EFI SCSI Device ({what} {_place(vm, device)})", _device_path(vm, device))
            found.append(BootSource(device, virt.setting_path(kinds.RASD, rasd["InstanceID"]), values))
        else:
            kind, nic = nic_values(vm.id, device)
            values = _values(vm, device.id, NETWORK_SOURCE, f"EFI Network ({device.name})", f"VMBus/NIC({ids.guid(device.id)})")
            found.append(BootSource(device, virt.setting_path(kind.classname, nic["InstanceID"]), values))
    return found


def _place(vm: VirtualMachine, drive: Drive) -> str:
    controller = vm.controller(drive.controller_id)
    return f"{controller.controller_type.value.upper()} {controller.number} {drive.slot}" if controller else str(drive.slot)


def _values(vm: VirtualMachine, device_id: UUID, source_type: int, description: str, device_path: str) -> dict[str, Any]:
    return {
        "InstanceID": boot_source_id(vm.id, device_id),
        "ElementName": description,
        "Caption": "Boot Source",
        "Description": "A device the virtual machine's firmware can boot from.",
        "BootSourceType": source_type,
        "BootSourceDescription": description,
        "FirmwareDevicePath": device_path,
        "OtherLocation": None,
    }


def _device_path(vm: VirtualMachine, drive: Drive) -> str:
    controller = vm.controller(drive.controller_id)
    number = controller.number if controller is not None else 0
    bus = "Scsi" if controller is None or controller.controller_type is ControllerType.SCSI else "Ata"
    return f"VMBus/{bus}({number},{drive.slot})"


def boot_source_order(virt: Virtualization, vm: VirtualMachine) -> list[str] | None:
    """The VSSD's BootSourceOrder: paths as Hyper-V writes them."""
    if vm.generation != 2:
        return None
    return [virt.text(virt.setting_path(BSSD, source.instance_id)) for source in boot_sources(virt, vm)]


def read_boot_source_order(virt: Virtualization, bag: PropertyBag, vm: VirtualMachine, settings: SystemSettings) -> SystemSettings:
    """`settings` with the order the client's BootSourceOrder asks for.
    Each entry must name one of this VM's boot sources, in any case."""
    if vm.generation != 2:
        return settings  # unread: a generation 1 VM's BootSourceOrder is refused as not honoured
    paths = bag.strings("BootSourceOrder")
    if paths is None:
        return settings
    by_id = {_folded(source.instance_id): source.device.id for source in boot_sources(virt, vm)}
    order: list[UUID] = []
    for text in paths:
        parsed = ids.parse_path_text(text)
        instance_id = parsed[1].get("instanceid") if parsed and parsed[0].lower() == BSSD.lower() else None
        device_id = by_id.get(_folded(instance_id)) if instance_id else None
        if device_id is None:
            raise invalid_parameter("BootSourceOrder", f"{text!r} is not a boot source of virtual machine {ids.guid(vm.id)}")
        if device_id in order:
            raise invalid_parameter("BootSourceOrder", f"{text!r} is listed twice")
        order.append(device_id)
    return settings.replace(boot_source_order=tuple(order))


def _folded(instance_id: str) -> str:
    return "\\".join(part for part in instance_id.replace("/", "\\").split("\\") if part).casefold()


class BootSourceProvider(InstanceProvider):
    classnames = (BSSD,)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for vm in self.virt.vms(pushdown):
            for source in boot_sources(self.virt, vm):
                yield self.virt.renderer.instance(BSSD, source.values, properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        instance_id = next((v for k, v in path.keybindings.items() if k.lower() == "instanceid"), None)
        ref = ids.parse_setting_id(instance_id) if isinstance(instance_id, str) else None
        vm = self.virt.find_vm(ref.vm_id) if ref is not None else None
        for source in boot_sources(self.virt, vm) if vm is not None else ():
            if _folded(source.instance_id) == _folded(str(instance_id)):
                return self.virt.renderer.instance(BSSD, source.values, properties)
        raise instance_not_found(path)
