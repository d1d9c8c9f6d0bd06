"""Where a device sits in a VM: finding it, filling in the controller number
or slot a client left open, and producing the VM with the device added,
replaced or removed. Pure functions on `schemas` models, for any backend."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from pydantic import ValidationError

from cimprovider.backends.errors import InUseError, InvalidParameterError, NotFoundError
from cimprovider.backends.hotplug import AnyDevice
from cimprovider.schemas.devices import (
    IDE_CONTROLLERS,
    SCSI_CONTROLLERS,
    AdapterType,
    Controller,
    ControllerType,
    DeviceKind,
    Drive,
    IntegrationService,
    MemorySettings,
    NetworkAdapter,
    PciDevice,
    ProcessorSettings,
    SerialPort,
)
from cimprovider.schemas.vm import VirtualMachine

# Where each kind of device lives on a VirtualMachine.
COLLECTIONS = {
    DeviceKind.CONTROLLER: "controllers",
    DeviceKind.DRIVE: "drives",
    DeviceKind.NETWORK_ADAPTER: "network_adapters",
    DeviceKind.SERIAL_PORT: "serial_ports",
    DeviceKind.INTEGRATION_SERVICE: "integration_services",
    DeviceKind.PCI_DEVICE: "pci_devices",
}
# Every VM has exactly these; they are modified, never added or removed.
FIXED_DEVICES = (ProcessorSettings, MemorySettings, SerialPort, IntegrationService)


def all_devices(vm: VirtualMachine) -> list[AnyDevice]:
    return [vm.processor, vm.memory, *vm.controllers, *vm.drives, *vm.network_adapters, *vm.serial_ports, *vm.integration_services,
            *vm.pci_devices]


def find_device(vm: VirtualMachine, device_id: UUID) -> AnyDevice:
    for device in all_devices(vm):
        if device.id == device_id:
            return device
    raise NotFoundError(f"VM {vm.id} has no device {device_id}")


def validated(vm: VirtualMachine, **changes: object) -> VirtualMachine:
    """`vm` with `changes`, or InvalidParameterError naming the field."""
    try:
        return vm.replace(**changes)
    except ValidationError as error:
        raise InvalidParameterError.from_validation(error) from None


def with_device(vm: VirtualMachine, device: AnyDevice) -> VirtualMachine:
    """Add `device`, or replace the one with its id."""
    if isinstance(device, ProcessorSettings):
        return validated(vm, processor=device)
    if isinstance(device, MemorySettings):
        return validated(vm, memory=device)
    field = COLLECTIONS[device.kind]
    items = list(getattr(vm, field))
    for index, item in enumerate(items):
        if item.id == device.id:
            items[index] = device
            break
    else:
        items.append(device)
    return validated(vm, **{field: tuple(items)})


def without_device(vm: VirtualMachine, device: AnyDevice) -> VirtualMachine:
    if isinstance(device, FIXED_DEVICES):
        raise InvalidParameterError("kind", f"a VM's {device.kind.value.replace('_', ' ')} cannot be removed; modify it")
    if isinstance(device, Controller) and any(drive.controller_id == device.id for drive in vm.drives):
        raise InUseError(f"controller {device.id} still has drives attached")
    field = COLLECTIONS[device.kind]
    return validated(vm, **{field: tuple(item for item in getattr(vm, field) if item.id != device.id)})


def place_new_device(vm: VirtualMachine, device: AnyDevice, allocate_mac: Callable[[], str]) -> AnyDevice:
    """Check a device about to be added and fill in what the client left open."""
    if isinstance(device, FIXED_DEVICES):
        raise InvalidParameterError("kind", f"a VM has a fixed {device.kind.value.replace('_', ' ')}; modify it instead")
    if any(existing.id == device.id for existing in all_devices(vm)):
        raise InvalidParameterError("id", f"VM {vm.id} already has a device {device.id}")
    if isinstance(device, Controller):
        return _place_controller(vm, device)
    if isinstance(device, Drive):
        return _place_drive(vm, device)
    if isinstance(device, PciDevice):
        return device  # the backend checks the host offers it (backends.pci)
    return check_network_adapter(vm, device, allocate_mac)


def check_network_adapter(vm: VirtualMachine, nic: NetworkAdapter, allocate_mac: Callable[[], str]) -> NetworkAdapter:
    if nic.adapter_type is AdapterType.EMULATED and vm.generation == 2:
        raise InvalidParameterError("adapter_type", "generation 2 VMs have no emulated network adapters")
    if nic.mac_address is None:
        if nic.static_mac:
            raise InvalidParameterError("mac_address", "a static MAC address needs a value")
        return nic.replace(mac_address=allocate_mac())
    return nic


def place_drive(vm: VirtualMachine, drive: Drive) -> Drive:
    """Check a drive's position (new or moved) and fill an open slot."""
    return _place_drive(vm, drive)


def _place_controller(vm: VirtualMachine, controller: Controller) -> Controller:
    limit = IDE_CONTROLLERS if controller.controller_type is ControllerType.IDE else SCSI_CONTROLLERS
    taken = {c.number for c in vm.controllers if c.controller_type is controller.controller_type}
    kind = controller.controller_type.value.upper()
    if controller.number is not None:
        if controller.number in taken:
            raise InUseError(f"{kind} controller {controller.number} already exists")
        return controller
    free = [number for number in range(limit) if number not in taken]
    if not free:
        raise InUseError(f"the VM already has all {limit} {kind} controllers")
    return controller.replace(number=free[0])


def _place_drive(vm: VirtualMachine, drive: Drive) -> Drive:
    controller = vm.controller(drive.controller_id)
    if controller is None:
        raise InvalidParameterError("controller_id", f"VM {vm.id} has no controller {drive.controller_id}")
    slots = controller.controller_type.slots
    taken = {d.slot for d in vm.drives if d.controller_id == controller.id and d.id != drive.id}
    if drive.slot is not None:
        if drive.slot >= slots:
            raise InvalidParameterError("slot", f"{drive.slot} is beyond the controller's {slots} slots")
        if drive.slot in taken:
            raise InUseError(f"slot {drive.slot} of controller {controller.id} is taken")
        return drive
    free = [slot for slot in range(slots) if slot not in taken]
    if not free:
        raise InUseError(f"every slot of controller {controller.id} is taken")
    return drive.replace(slot=free[0])
