"""Reading MigrateVirtualSystemToHost's and the checks' parameters into a
MigrationRequest: the VM, the destination, the MigrationType and the
settings this host honours (AllowOverwriteExistingFile,
RetainVhdCopiesOnSource, AvoidRemovingVHDs, DestinationIPAddressList,
EnableCompression, Priority, Bandwidth), and the disks NewResourceSettingData places
elsewhere (each an SASD of the VM with its new HostResource). Every other
writable setting is refused, naming the property, when it asks for
something other than what this host does: none is taken and dropped."""

from __future__ import annotations

import ipaddress
from typing import Any

from cimprovider.providers.virtualization.embedded import PropertyBag, read_embedded
from cimprovider.providers.virtualization.errors import NOT_SUPPORTED, MethodFailure, invalid_parameter
from cimprovider.providers.virtualization.migration.settings import (
    MIGRATION_SETTINGS,
    STAGED,
    STORAGE,
    VIRTUAL_SYSTEM,
    VIRTUAL_SYSTEM_AND_STORAGE,
    migration_settings_values,
)
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.resources.resources import find_setting
from cimprovider.providers.virtualization.unhonoured import refuse_unhonoured
from cimprovider.schemas.devices import Drive
from cimprovider.schemas.migration import MigrationRequest
from cimprovider.schemas.vm import VirtualMachine

SASD = "Msvm_StorageAllocationSettingData"
BANDWIDTH_UNIT = "bit / second * 10^6"
PRIORITIES = {0: "Unknown", 1: "Low", 2: "High"}
_IDENTITIES = frozenset({"instanceid", "elementname", "caption"})


def read_request(virt: Virtualization, params: dict[str, Any], compress: bool = False) -> tuple[VirtualMachine, MigrationRequest]:
    """`compress` is the service's EnableCompression, for a call without
    MigrationSettingData."""
    vm_id = virt.vm_from_system(params.get("ComputerSystem"))
    vm = virt.vm_or_not_found(vm_id, params.get("ComputerSystem"))
    bag = read_embedded(params["MigrationSettingData"], "MigrationSettingData") if params.get("MigrationSettingData") else None
    migration_type = (bag.integer("MigrationType") if bag else None) or VIRTUAL_SYSTEM
    if migration_type == STAGED:
        raise MethodFailure(NOT_SUPPORTED, "MigrationType: staged migration (32770) through a planned VM is not supported")
    if migration_type not in (VIRTUAL_SYSTEM, VIRTUAL_SYSTEM_AND_STORAGE, STORAGE):
        raise invalid_parameter("MigrationType", f"{migration_type} is not 32768, 32769 or 32771")
    destination = params.get("DestinationHost")
    if migration_type == STORAGE:
        # Storage moves on this host: no destination, or this host's name.
        if destination and str(destination).strip().casefold() not in (virt.host_name.casefold(), "localhost"):
            raise invalid_parameter("DestinationHost", f"a storage migration stays on this host ({virt.host_name}), not {destination}")
        destination = virt.host_name
    if not isinstance(destination, str) or not destination.strip():
        raise invalid_parameter("DestinationHost", "a peer host name, host:port or URL is required")
    if params.get("NewSystemSettingData"):
        raise MethodFailure(NOT_SUPPORTED, "NewSystemSettingData: a VM migrates with its own settings")
    placements = {old: new for old, new in (_placement(virt, vm, item) for item in params.get("NewResourceSettingData") or [])}
    settings = _honoured(virt, bag, migration_type, compress) if bag is not None else {"compress": compress and migration_type != STORAGE}
    request = MigrationRequest(vm_id=vm.id, destination=destination.strip(), migration_type=migration_type,
                               placements=placements, **settings)
    return vm, request


def _honoured(virt: Virtualization, bag: PropertyBag, migration_type: int, compress: bool) -> dict[str, Any]:
    """The request's settings from MigrationSettingData; anything else the
    client changed in the instance it was handed is refused, naming it."""
    _refuse_unhonoured(bag)
    settings = {
        "allow_overwrite": bool(bag.boolean("AllowOverwriteExistingFile")),
        "retain_source_copies": bool(bag.boolean("RetainVhdCopiesOnSource") or bag.boolean("AvoidRemovingVHDs")),
        "destination_addresses": _destination_addresses(bag),
        "compress": bool(bag.boolean("EnableCompression")) if bag.has("EnableCompression") else compress,
        "priority": _priority(bag),
        "bandwidth_mbps": _bandwidth(bag),
    }
    if migration_type == STORAGE:
        for name, key in (("DestinationIPAddressList", "destination_addresses"), ("EnableCompression", "compress"),
                          ("Bandwidth", "bandwidth_mbps")):
            if settings[key]:
                raise invalid_parameter(name, "a storage migration copies files on this host; nothing crosses the network")
    # The identities follow the MigrationType a client may have switched.
    base = migration_settings_values(migration_type, compress)
    refuse_unhonoured(virt.renderer, MIGRATION_SETTINGS, bag, base, _IDENTITIES)
    return settings


def _refuse_unhonoured(bag: PropertyBag) -> None:
    unit = bag.text("BandwidthUnit")
    if unit and unit != BANDWIDTH_UNIT:
        raise invalid_parameter("BandwidthUnit", f"{unit!r} is not {BANDWIDTH_UNIT!r}")
    if bag.integer("TransportType") not in (None, 5):
        raise MethodFailure(NOT_SUPPORTED, "TransportType: only TCP (5) is offered")
    if bag.text("OtherTransportType"):
        raise MethodFailure(NOT_SUPPORTED, "OtherTransportType: only TCP (TransportType 5) is offered")
    if bag.raw("UnmanagedVhds"):
        raise MethodFailure(NOT_SUPPORTED, "UnmanagedVhds: every disk of the VM moves with it")
    if bag.boolean("RemoveSourceUnmanagedVhds"):
        raise MethodFailure(NOT_SUPPORTED, "RemoveSourceUnmanagedVhds: every disk of the VM moves with it, none is unmanaged")
    if bag.text("DestinationPlannedVirtualSystemId"):
        raise MethodFailure(NOT_SUPPORTED, "DestinationPlannedVirtualSystemId: staged migration is not supported")
    # The VM is handed over whole once its files arrived: there is no
    # memory pre-copy to converge, hence no blackout to bound and no
    # reason to slow the guest's processors.
    if bag.boolean("CancelIfBlackoutThresholdExceeded"):
        raise MethodFailure(NOT_SUPPORTED, "CancelIfBlackoutThresholdExceeded: this host sets no blackout threshold to cancel at")
    capping = bag.integer("CPUCappingMagnitude")
    if capping is not None and not 0 <= capping <= 100:
        raise invalid_parameter("CPUCappingMagnitude", f"{capping} is not between 0 and 100")
    if capping:
        raise MethodFailure(NOT_SUPPORTED, "CPUCappingMagnitude: this host does not cap virtual processors during a migration")


def _destination_addresses(bag: PropertyBag) -> tuple[str, ...]:
    """The addresses the destination is to be reached on, in the caller's order."""
    addresses = bag.strings("DestinationIPAddressList") or []
    for address in addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise invalid_parameter("DestinationIPAddressList", f"{address!r} is not an IP address") from None
    return tuple(addresses)


def _bandwidth(bag: PropertyBag) -> int:
    """Hyper-V's Bandwidth, in BandwidthUnit (Mbit/s); 0 or none: no cap."""
    bandwidth = bag.integer("Bandwidth") or 0
    if not 0 <= bandwidth <= 65535:
        raise invalid_parameter("Bandwidth", f"{bandwidth} is not between 0 (no cap) and 65535 Mbit/s")
    return bandwidth


def _priority(bag: PropertyBag) -> int:
    priority = bag.integer("Priority") or 0
    if priority not in PRIORITIES:
        raise invalid_parameter("Priority", f"{priority} is not 0 (Unknown), 1 (Low) or 2 (High)")
    return priority


def _placement(virt: Virtualization, vm: VirtualMachine, item: Any) -> tuple[str, str]:
    bag = read_embedded(item, "NewResourceSettingData")
    instance_id = bag.text("InstanceID")
    setting = find_setting(virt, vm, instance_id) if instance_id else None
    drive = setting.device if setting is not None else None
    if not isinstance(drive, Drive) or drive.media is None or setting is None or setting.kind.classname != SASD:
        raise invalid_parameter("NewResourceSettingData", f"{instance_id!r} is not a disk image setting (SASD) of the VM")
    paths = bag.raw("HostResource")
    if not isinstance(paths, list) or len(paths) != 1 or not isinstance(paths[0], str) or not paths[0]:
        raise invalid_parameter("NewResourceSettingData", f"{instance_id}: HostResource must hold the disk's new path")
    return drive.media.path, paths[0]
