"""Host PCI Express devices as Hyper-V shows them for discrete device
assignment: one Msvm_PciExpress of the host (SystemName the host) per
device the admin allowed, and, while a device is given to a VM, a second
one with the same LocationPath and SystemName the VM. os-win counts the
instances sharing a LocationPath to tell a free device (one) from an
assigned one, and finds a device by `VEN_<vendor>&DEV_<product>&` in its
DeviceID. A client gives a device to a VM by naming the host's instance in
an Msvm_PciExpressSettingData's HostResource."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.providers.base import InstanceProvider, OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.model import CS, Virtualization
from cimprovider.schemas.devices import PciDevice
from cimprovider.schemas.host import HostPciDevice
from cimprovider.schemas.vm import VirtualMachine

PCI_EXPRESS = "Msvm_PciExpress"


def instance_path(device: HostPciDevice) -> str:
    """Windows' device instance path, for a device dismounted from the host."""
    return f"PCIP\\VEN_{device.vendor_id}&DEV_{device.product_id}&SUBSYS_00000000&REV_00\\{device.address}"


def location_path(address: str) -> str:
    domain, bus, rest = address.split(":")
    slot, function = rest.split(".")
    return f"PCIROOT({int(domain, 16)})#PCI({bus.upper()}00)#PCI({slot.upper()}{int(function):02X})"


def host_values(virt: Virtualization, device: HostPciDevice) -> dict[str, Any]:
    return _values(instance_path(device), virt.host_name, device)


def assigned_values(vm: VirtualMachine, assigned: PciDevice, device: HostPciDevice) -> dict[str, Any]:
    return _values(ids.device_id(assigned.id), ids.guid(vm.id), device)


def _values(device_id: str, system: str, device: HostPciDevice) -> dict[str, Any]:
    name = device.name or f"PCI Express device {device.address}"
    return {
        "CreationClassName": PCI_EXPRESS,
        "DeviceID": device_id,
        "SystemCreationClassName": CS,
        "SystemName": system,
        "ElementName": name,
        "Caption": name,
        "Name": device.address,
        "DeviceInstancePath": instance_path(device),
        "LocationPath": location_path(device.address),
        "FunctionNumber": int(device.address.rsplit(".", 1)[1]),
        "EnabledState": 2,
        "HealthState": 5,
        "OperationalStatus": [2],
    }


def host_device(virt: Virtualization, address: str) -> HostPciDevice | None:
    return next((d for d in virt.backend.host_info().pci_devices if d.address == address), None)


def device_path_text(virt: Virtualization, address: str) -> str:
    """The host's Msvm_PciExpress for `address`, as HostResource holds it."""
    device = host_device(virt, address) or HostPciDevice(address=address, vendor_id="0000", product_id="0000")
    return virt.text(virt.renderer.path(PCI_EXPRESS, host_values(virt, device)))


def offered_address(virt: Virtualization, text: str) -> str | None:
    """The address of the host device a client's path (HostResource)
    names, or None when it names no device this host offers."""
    parsed = ids.parse_path_text(text)
    if parsed is None or parsed[0].lower() != PCI_EXPRESS.lower():
        return None
    system, device_id = parsed[1].get("systemname"), parsed[1].get("deviceid")
    if not (isinstance(system, str) and system.lower() == virt.host_name.lower() and isinstance(device_id, str)):
        return None
    wanted = device_id.replace("\\\\", "\\").lower()
    found = (d.address for d in virt.backend.host_info().pci_devices if instance_path(d).lower() == wanted)
    return next(found, None)


class PciExpressProvider(InstanceProvider):
    classnames = (PCI_EXPRESS,)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def all_values(self) -> Iterator[dict[str, Any]]:
        offered = {d.address: d for d in self.virt.backend.host_info().pci_devices}
        yield from (host_values(self.virt, d) for d in offered.values())
        for vm in self.virt.backend.list_vms():
            for assigned in vm.pci_devices:
                device = offered.get(assigned.address) or HostPciDevice(address=assigned.address, vendor_id="0000", product_id="0000")
                yield assigned_values(vm, assigned, device)

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for values in self.all_values():
            yield self.virt.renderer.instance(PCI_EXPRESS, values, properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        keys = {k.lower(): str(v).lower() for k, v in path.keybindings.items()}
        for values in self.all_values():
            if (values["DeviceID"].lower(), values["SystemName"].lower()) == (keys.get("deviceid"), keys.get("systemname")):
                return self.virt.renderer.instance(PCI_EXPRESS, values, properties)
        raise instance_not_found(path)
