"""Which configuration changes a VM accepts in which power state.

One table, shared by every backend so the providers see the same rules
whatever runs underneath. A change is classified into (resource, change)
pairs; each pair must allow the VM's current state. The rules follow
Hyper-V: the processor count changes only while the VM is off; memory may
grow within the configured maximum while running (dynamic memory) and shrink
only when off; synthetic NICs and SCSI drives come and go while running;
IDE devices, controllers, emulated NICs and host PCI devices only when off.
"""

from __future__ import annotations

from enum import Enum

from cimprovider.backends.errors import InvalidStateError
from cimprovider.schemas.devices import (
    AdapterType,
    Controller,
    ControllerType,
    Drive,
    DriveType,
    IntegrationService,
    MemorySettings,
    NetworkAdapter,
    PciDevice,
    ProcessorSettings,
    SerialPort,
)
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.vm import SystemSettings, VirtualMachine

AnyDevice = ProcessorSettings | MemorySettings | Controller | Drive | NetworkAdapter | SerialPort | IntegrationService | PciDevice


class Change(str, Enum):
    ADD = "add"
    REMOVE = "remove"
    GROW = "grow"
    SHRINK = "shrink"
    TUNE = "tune"  # a setting the hypervisor applies live (weights, switch, pipe…)
    RECONFIGURE = "reconfigure"  # a setting that needs the VM powered off


COLD = frozenset({PowerState.OFF})
HOT = frozenset({PowerState.OFF, PowerState.RUNNING})
ANYTIME = frozenset({PowerState.OFF, PowerState.RUNNING, PowerState.PAUSED, PowerState.SAVED})

HOT_PLUG_RULES: dict[tuple[str, Change], frozenset[PowerState]] = {
    ("system", Change.TUNE): ANYTIME,  # name, notes, automatic actions, snapshot type
    ("system", Change.RECONFIGURE): COLD,  # boot order, secure boot, NUMA, version
    ("processor", Change.GROW): COLD,  # Hyper-V adds no processor to a running VM
    ("processor", Change.SHRINK): COLD,
    ("processor", Change.TUNE): ANYTIME,  # reservation, limit, weight
    ("processor", Change.RECONFIGURE): COLD,  # nested virtualization, compatibility
    ("memory", Change.GROW): HOT,  # and only when dynamic, within the maximum
    ("memory", Change.SHRINK): COLD,
    ("memory", Change.TUNE): HOT,  # buffer
    ("memory", Change.RECONFIGURE): COLD,  # dynamic on/off, minimum, maximum
    ("ide_controller", Change.ADD): COLD,
    ("ide_controller", Change.REMOVE): COLD,
    ("ide_controller", Change.RECONFIGURE): COLD,
    ("scsi_controller", Change.ADD): COLD,
    ("scsi_controller", Change.REMOVE): COLD,
    ("scsi_controller", Change.RECONFIGURE): COLD,
    ("controller", Change.TUNE): ANYTIME,  # its name
    ("ide_drive", Change.ADD): COLD,
    ("ide_drive", Change.REMOVE): COLD,
    ("ide_drive", Change.RECONFIGURE): COLD,  # position, type, disk image
    ("scsi_drive", Change.ADD): HOT,
    ("scsi_drive", Change.REMOVE): HOT,
    ("scsi_drive", Change.RECONFIGURE): HOT,
    ("drive", Change.TUNE): ANYTIME,  # its name
    ("dvd_media", Change.TUNE): HOT,  # insert or eject, on IDE too
    ("disk_qos", Change.TUNE): HOT,  # the IOPS limit
    ("network_adapter", Change.ADD): HOT,
    ("network_adapter", Change.REMOVE): HOT,
    ("network_adapter", Change.TUNE): HOT,  # switch, connection, name
    ("network_adapter", Change.RECONFIGURE): COLD,  # MAC address, type
    ("emulated_network_adapter", Change.ADD): COLD,
    ("emulated_network_adapter", Change.REMOVE): COLD,
    ("serial_port", Change.TUNE): HOT,  # the pipe
    ("serial_port", Change.RECONFIGURE): COLD,  # the port number
    ("integration_service", Change.TUNE): ANYTIME,  # enable or disable
    ("pci_device", Change.ADD): COLD,  # Hyper-V assigns a device only to a VM that is off
    ("pci_device", Change.REMOVE): COLD,
    ("pci_device", Change.RECONFIGURE): COLD,
    ("integration_service", Change.RECONFIGURE): COLD,
}


def check_allowed(state: PowerState, changes: list[tuple[str, Change]], what: str) -> None:
    """Raise InvalidStateError unless every change is allowed in `state`."""
    if state.is_transitional:
        raise InvalidStateError(f"cannot {what}: the VM is {state.value}; a transition is in progress")
    for resource, change in changes:
        allowed = HOT_PLUG_RULES[(resource, change)]
        if state not in allowed:
            states = ", ".join(sorted(s.value for s in allowed))
            raise InvalidStateError(
                f"cannot {what} ({change.value} {resource.replace('_', ' ')}) while the VM is {state.value};"
                f" allowed when {states}"
            )


def system_changes(old: SystemSettings, new: SystemSettings) -> list[tuple[str, Change]]:
    # The boot order is read at the next boot, so it may change while running.
    live = {"name", "notes", "automatic_start_action", "automatic_start_delay_seconds", "automatic_stop_action", "snapshot_type",
            "boot_source_order"}
    changed = _changed_fields(old, new, SystemSettings)
    changes = []
    if changed & live:
        changes.append(("system", Change.TUNE))
    if changed - live:
        changes.append(("system", Change.RECONFIGURE))
    return changes


def device_changes(vm: VirtualMachine, old: AnyDevice | None, new: AnyDevice | None) -> list[tuple[str, Change]]:
    """Classify adding (old None), removing (new None) or modifying a device."""
    if old is None and new is not None:
        return [(_resource(vm, new), Change.ADD)]
    if new is None and old is not None:
        return [(_resource(vm, old), Change.REMOVE)]
    assert old is not None and new is not None
    changed = _changed_fields(old, new, type(new))
    if isinstance(old, ProcessorSettings) and isinstance(new, ProcessorSettings):
        return _sized(old.count, new.count, "processor", changed, {"count"}, {"reservation_percent", "limit_percent", "weight"})
    if isinstance(old, MemorySettings) and isinstance(new, MemorySettings):
        return _sized(old.startup_mb, new.startup_mb, "memory", changed, {"startup_mb"}, {"buffer_percent"})
    if isinstance(old, Drive) and isinstance(new, Drive):
        return _drive_changes(vm, old, new, changed)
    if isinstance(new, Controller):
        tuned, live = "controller", {"name"}
    elif isinstance(new, NetworkAdapter):
        tuned, live = "network_adapter", {"name", "switch_id", "connected", "vlan", "security", "bandwidth"}
    elif isinstance(new, IntegrationService):
        tuned, live = "integration_service", {"enabled"}
    else:
        tuned, live = "serial_port", {"pipe_name"}
    changes = []
    if changed & live:
        changes.append((tuned, Change.TUNE))
    if changed - live:
        changes.append(("network_adapter" if isinstance(new, NetworkAdapter) else _resource(vm, old), Change.RECONFIGURE))
    return changes


def check_device_change(vm: VirtualMachine, old: AnyDevice | None, new: AnyDevice | None, what: str) -> None:
    """The table's verdict, plus Hyper-V's limit on growing memory live:
    only dynamic memory grows, and never past its configured maximum."""
    check_allowed(vm.power_state, device_changes(vm, old, new), what)
    if vm.power_state is PowerState.RUNNING and isinstance(old, MemorySettings) and isinstance(new, MemorySettings):
        if new.startup_mb > old.startup_mb:
            if not old.dynamic_enabled:
                raise InvalidStateError(f"cannot {what}: static memory grows only while the VM is off")
            if new.startup_mb > old.maximum_mb:
                raise InvalidStateError(
                    f"cannot {what}: {new.startup_mb} MB is above the configured maximum of {old.maximum_mb} MB"
                )


def _drive_changes(vm: VirtualMachine, old: Drive, new: Drive, changed: set[str]) -> list[tuple[str, Change]]:
    changes: list[tuple[str, Change]] = []
    if "name" in changed:
        changes.append(("drive", Change.TUNE))
    if changed & {"controller_id", "slot", "drive_type"}:
        changes += [(_resource(vm, old), Change.RECONFIGURE), (_resource(vm, new), Change.RECONFIGURE)]
    if "media" in changed:
        if old.media is not None and new.media is not None and old.media.replace(iops_limit=new.media.iops_limit) == new.media:
            changes.append(("disk_qos", Change.TUNE))
        elif new.drive_type is DriveType.DVD:
            changes.append(("dvd_media", Change.TUNE))
        else:
            changes.append((_resource(vm, new), Change.RECONFIGURE))
    return changes


def _sized(old: int, new: int, resource: str, changed: set[str], size: set[str], live: set[str]) -> list[tuple[str, Change]]:
    changes = []
    if new > old:
        changes.append((resource, Change.GROW))
    elif new < old:
        changes.append((resource, Change.SHRINK))
    if changed & live:
        changes.append((resource, Change.TUNE))
    if changed - live - size:
        changes.append((resource, Change.RECONFIGURE))
    return changes


def _resource(vm: VirtualMachine, device: AnyDevice) -> str:
    if isinstance(device, Controller):
        return f"{device.controller_type.value}_controller"
    if isinstance(device, Drive):
        controller = vm.controller(device.controller_id)
        kind = controller.controller_type if controller else ControllerType.SCSI
        return f"{kind.value}_drive"
    if isinstance(device, NetworkAdapter):
        return "emulated_network_adapter" if device.adapter_type is AdapterType.EMULATED else "network_adapter"
    if isinstance(device, SerialPort):
        return "serial_port"
    return device.kind.value


def _changed_fields(old: object, new: object, model: type) -> set[str]:
    return {name for name in model.model_fields if getattr(old, name) != getattr(new, name)}  # type: ignore[attr-defined]
