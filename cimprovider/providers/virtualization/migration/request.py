"""Reading MigrateVirtualSystemToHost's and the checks' parameters into a
MigrationRequest: the VM, the destination, the MigrationType and the
settings this host honours (AllowOverwriteExistingFile,
RetainVhdCopiesOnSource, AvoidRemovingVHDs), and the disks NewResourceSettingData places
elsewhere (each an SASD of the VM with its new HostResource). Settings
that cannot be honoured are refused."""

from __future__ import annotations

from typing import Any

from cimprovider.providers.virtualization.embedded import PropertyBag, read_embedded
from cimprovider.providers.virtualization.errors import NOT_SUPPORTED, MethodFailure, invalid_parameter
from cimprovider.providers.virtualization.migration.settings import STAGED, STORAGE, VIRTUAL_SYSTEM, VIRTUAL_SYSTEM_AND_STORAGE
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.resources.resources import find_setting
from cimprovider.schemas.devices import Drive
from cimprovider.schemas.migration import MigrationRequest
from cimprovider.schemas.vm import VirtualMachine

SASD = "Msvm_StorageAllocationSettingData"


def read_request(virt: Virtualization, params: dict[str, Any]) -> tuple[VirtualMachine, MigrationRequest]:
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
    if bag is not None:
        _refuse_unhonoured(bag)
    if params.get("NewSystemSettingData"):
        raise MethodFailure(NOT_SUPPORTED, "NewSystemSettingData: a VM migrates with its own settings")
    placements = {old: new for old, new in (_placement(virt, vm, item) for item in params.get("NewResourceSettingData") or [])}
    request = MigrationRequest(
        vm_id=vm.id,
        destination=destination.strip(),
        migration_type=migration_type,
        placements=placements,
        allow_overwrite=bool(bag.boolean("AllowOverwriteExistingFile")) if bag else False,
        retain_source_copies=bool(bag.boolean("RetainVhdCopiesOnSource") or bag.boolean("AvoidRemovingVHDs")) if bag else False,
    )
    return vm, request


def _refuse_unhonoured(bag: PropertyBag) -> None:
    if bag.integer("Bandwidth"):
        raise MethodFailure(NOT_SUPPORTED, "Bandwidth: migrations here are not rate-limited")
    if bag.integer("TransportType") not in (None, 5):
        raise MethodFailure(NOT_SUPPORTED, "TransportType: only TCP (5) is offered")
    if bag.raw("UnmanagedVhds"):
        raise MethodFailure(NOT_SUPPORTED, "UnmanagedVhds: every disk of the VM moves with it")
    if bag.text("DestinationPlannedVirtualSystemId"):
        raise MethodFailure(NOT_SUPPORTED, "DestinationPlannedVirtualSystemId: staged migration is not supported")


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
