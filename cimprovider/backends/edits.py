"""A requested change as a new `VirtualMachine`, checked against Hyper-V's
rules (placement, hot-plug) before the hypervisor is touched. Pure
functions, so every backend answers the same request the same way: the
simulated host then stores the result, the libvirt one makes libvirt match it.
Each drive's medium, when new or changed, goes through the backend's
`MediaCheck` (the storage roots rule of `images.drive_media`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

from pydantic import ValidationError

from cimprovider.backends.errors import InvalidParameterError
from cimprovider.backends.hotplug import AnyDevice, check_allowed, check_device_change, system_changes
from cimprovider.backends.placement import (
    FIXED_DEVICES,
    check_network_adapter,
    find_device,
    place_drive,
    place_new_device,
    validated,
    with_device,
    without_device,
)
from cimprovider.schemas.devices import (
    Controller,
    ControllerType,
    Device,
    Drive,
    IntegrationService,
    MemorySettings,
    NetworkAdapter,
    ProcessorSettings,
    SerialPort,
    default_integration_services,
)
from cimprovider.schemas.vm import SystemSettings, VirtualMachine

MacAllocator = Callable[[], str]
ReferenceCheck = Callable[[AnyDevice], None]
MediaCheck = Callable[[Drive], None]


def default_vm(
    vm_id: UUID, settings: SystemSettings, devices: Sequence[Device], macs: MacAllocator, media: MediaCheck
) -> VirtualMachine:
    """A new VM: Hyper-V's defaults, with `devices` replacing or adding to them."""
    processor = next((d for d in devices if isinstance(d, ProcessorSettings)), ProcessorSettings())
    memory = next((d for d in devices if isinstance(d, MemorySettings)), MemorySettings())
    given_ports = {d.port_number: d for d in devices if isinstance(d, SerialPort)}
    given_services = {d.service: d for d in devices if isinstance(d, IntegrationService)}
    controllers: tuple[Controller, ...] = ()
    if settings.generation == 1:
        controllers = tuple(Controller(controller_type=ControllerType.IDE, number=n) for n in range(2))
    try:
        vm = VirtualMachine(
            id=vm_id,
            **settings.model_dump(),
            processor=processor,
            memory=memory,
            controllers=controllers,
            serial_ports=tuple(given_ports.get(n) or SerialPort(port_number=n) for n in (1, 2)),
            integration_services=tuple(given_services.get(s.service, s) for s in default_integration_services()),
        )
    except ValidationError as error:
        raise InvalidParameterError.from_validation(error) from None
    for device in devices:
        if isinstance(device, Drive):
            media(device)
        if not isinstance(device, FIXED_DEVICES):
            vm = with_device(vm, place_new_device(vm, device, macs))
    return vm


def settings_edit(vm: VirtualMachine, settings: SystemSettings) -> VirtualMachine:
    if settings.generation != vm.generation:
        raise InvalidParameterError("generation", "cannot change once the VM is defined")
    check_allowed(vm.power_state, system_changes(vm.settings, settings), "modify the VM")
    return validated(vm, **{name: getattr(settings, name) for name in SystemSettings.model_fields})


def add_edit(
    vm: VirtualMachine, device: Device, macs: MacAllocator, check: ReferenceCheck, media: MediaCheck
) -> tuple[VirtualMachine, AnyDevice]:
    placed = place_new_device(vm, device, macs)
    check_device_change(vm, None, placed, f"add a {placed.kind.value.replace('_', ' ')}")
    check(placed)
    if isinstance(placed, Drive):
        media(placed)
    return with_device(vm, placed), placed


def modify_edit(
    vm: VirtualMachine, device: Device, macs: MacAllocator, check: ReferenceCheck, media: MediaCheck
) -> tuple[VirtualMachine, AnyDevice]:
    old = find_device(vm, device.id)
    if old.kind != device.kind:
        raise InvalidParameterError("kind", f"device {device.id} is a {old.kind.value}, not a {device.kind.value}")
    new: AnyDevice = device
    if isinstance(new, Drive) and isinstance(old, Drive):
        new = _same_working_copy(old, new)
    if isinstance(new, Drive):
        new = place_drive(vm, new)
    elif isinstance(new, NetworkAdapter):
        new = check_network_adapter(vm, new, macs)
    elif isinstance(new, Controller) and new.number is None:
        new = new.replace(number=old.number)  # type: ignore[union-attr]
    check_device_change(vm, old, new, f"modify the {new.kind.value.replace('_', ' ')}")
    check(new)
    if isinstance(new, Drive) and _new_medium(old, new):
        media(new)
    return with_device(vm, new), new


def _same_working_copy(old: Drive, new: Drive) -> Drive:
    """A client sends back the file it attached (HostResource shows it):
    the drive stays on that file's working copy."""
    if old.media is None or new.media is None or not old.media.attached_path or new.media.path != old.media.attached_path:
        return new
    return new.replace(media=new.media.replace(path=old.media.path, attached_path=old.media.attached_path))


def _new_medium(old: AnyDevice, new: Drive) -> bool:
    """Only a medium the request brings is checked: a drive moved to
    another slot keeps the file it had."""
    before = old.media.path if isinstance(old, Drive) and old.media is not None else None
    return new.media is not None and new.media.path != before


def remove_edit(vm: VirtualMachine, device_id: UUID) -> VirtualMachine:
    device = find_device(vm, device_id)
    if not isinstance(device, FIXED_DEVICES):
        check_device_change(vm, device, None, f"remove the {device.kind.value.replace('_', ' ')}")
    return without_device(vm, device)
