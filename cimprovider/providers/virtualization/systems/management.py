"""Msvm_VirtualSystemManagementService: DefineSystem (with
ReferenceConfiguration to clone), DestroySystem, ModifySystemSettings,
Add/Modify/RemoveResourceSettings, GetSummaryInformation and
Add/Modify/RemoveKvpItems.

Work is done before the method returns, so success is 0 with the results
filled in; a failure comes back as Hyper-V reports it in practice: 4096 and
a job that ends in Exception with ErrorCode (32773, 32775…) and a message
naming the property at fault."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.providers.base import (
    InstanceProvider,
    MethodReturn,
    OperationContext,
    PropertySet,
    Pushdown,
)
from cimprovider.providers.virtualization import ids, kinds
from cimprovider.providers.virtualization.embedded import read_embedded
from cimprovider.providers.virtualization.errors import (
    INVALID_PARAMETER,
    NOT_FOUND,
    NOT_SUPPORTED,
    MethodFailure,
    invalid_parameter,
)
from cimprovider.providers.virtualization.immediate import Handler, ImmediateMethods
from cimprovider.providers.virtualization.resources.components import KVP_SOURCES
from cimprovider.providers.virtualization.model import VSMS, Virtualization
from cimprovider.providers.virtualization.resources.display_settings import display_guid, store_display
from cimprovider.providers.virtualization.resources.resource_input import DeviceChange, apply, kind_of_new, locate
from cimprovider.providers.virtualization.resources.resources import CONNECTION, MEDIA, find_setting, vm_settings
from cimprovider.providers.virtualization.resources.templates import template_values
from cimprovider.providers.virtualization.systems.boot_sources import read_boot_source_order
from cimprovider.providers.virtualization.systems.data_roots import default_data_roots
from cimprovider.providers.virtualization.systems.settings import VSSD, default_root, read_vssd, settings_from_bag, vssd_as_shown, vssd_values
from cimprovider.providers.virtualization.unhonoured import refuse_unhonoured
from cimprovider.providers.virtualization.systems.states import RUNNING_SERVICE
from cimprovider.providers.virtualization.systems.summary import summary_information
from cimprovider.schemas.devices import Controller, ControllerType, Drive
from cimprovider.schemas.integration import KvpItem
from cimprovider.schemas.vm import VirtualMachine

KVP_ITEM_LIMIT = 128


class ManagementService(InstanceProvider, ImmediateMethods):
    classnames = (VSMS,)
    read_only_methods = frozenset({"getsummaryinformation"})

    def __init__(self, virt: Virtualization, storage_roots: tuple[Path, ...] = ()) -> None:
        self.virt = virt
        # Where clients' paths (the VMs' data roots) may point.
        self.storage_roots = storage_roots
        self.handlers: dict[str, Handler] = {
            "definesystem": self.define_system,
            "destroysystem": self.destroy_system,
            "modifysystemsettings": self.modify_system_settings,
            "addresourcesettings": self.add_resource_settings,
            "modifyresourcesettings": self.modify_resource_settings,
            "removeresourcesettings": self.remove_resource_settings,
            "getsummaryinformation": self.get_summary_information,
            "addkvpitems": lambda p: self.kvp_items(p, "add"),
            "modifykvpitems": lambda p: self.kvp_items(p, "modify"),
            "removekvpitems": lambda p: self.kvp_items(p, "remove"),
        }

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        path = self.virt.service_path()
        values = {
            **path.keybindings,
            "ElementName": "Virtual Machine Management Service",
            "Caption": "Hyper-V Virtual Machine Management Service",
            "Description": "Manages virtual machines: defines, modifies and destroys them.",
            **RUNNING_SERVICE,
        }
        yield self.virt.renderer.instance(VSMS, values, properties)

    # --- systems -------------------------------------------------------------

    def define_system(self, params: dict[str, Any]) -> MethodReturn:
        reference = params.get("ReferenceConfiguration")
        source: VirtualMachine | None = None
        if reference is not None:
            source = self.vm_of_configuration(reference, "ReferenceConfiguration")
        text = params.get("SystemSettings")
        bag = read_vssd(text, "SystemSettings") if text else None
        if bag is None and source is None:
            raise invalid_parameter("SystemSettings", "is required")
        settings = settings_from_bag(bag, source.settings if source else None, self.roots(), self.shown_before(source)) if bag else source.settings  # type: ignore[union-attr]
        if bag is not None:
            # The VM as it would be defined: what the client's other
            # properties must agree with. Its identities are new ones.
            planned = VirtualMachine.model_validate({**settings.model_dump(), "id": uuid4()})
            refuse_unhonoured(self.virt.renderer, VSSD, bag, vssd_values(self.virt, planned), frozenset({"instanceid"}))
        resources = [read_embedded(item, "ResourceSettings") for item in params.get("ResourceSettings") or []]
        devices, drives = clone_devices(source) if source is not None else ([], [])
        vm = self.virt.backend.define_vm(settings, devices)
        try:
            place_cloned_drives(self.virt.backend, vm, drives)
            for bag in resources:
                self.add_one(self.virt.backend.get_vm(vm.id), bag, defining=True)
        except BaseException:
            self.virt.backend.destroy_vm(vm.id)
            raise
        return MethodReturn(0, {"ResultingSystem": self.virt.vm_path(vm.id)})

    def destroy_system(self, params: dict[str, Any]) -> MethodReturn:
        vm = self.vm_of_system(params.get("AffectedSystem"), "AffectedSystem")
        self.virt.backend.destroy_vm(vm.id)
        return MethodReturn(0)

    def modify_system_settings(self, params: dict[str, Any]) -> MethodReturn:
        bag = read_vssd(params.get("SystemSettings"), "SystemSettings")
        ref = ids.parse_setting_id(bag.text("InstanceID") or "")
        if ref is None or ref.parts:
            raise invalid_parameter("InstanceID", f"{bag.text('InstanceID')!r} does not name a virtual machine's settings")
        vm = self.existing_vm(ref.vm_id, "InstanceID")
        shown = vssd_as_shown(self.virt, vm)
        settings = read_boot_source_order(self.virt, bag, vm, settings_from_bag(bag, vm.settings, self.roots(), shown))
        if settings.generation != vm.generation:
            raise MethodFailure(NOT_SUPPORTED, "VirtualSystemSubType: a virtual machine's generation cannot change")
        refuse_unhonoured(self.virt.renderer, VSSD, bag, shown)
        self.virt.backend.modify_vm(vm.id, settings)
        return MethodReturn(0)

    # --- resources -----------------------------------------------------------

    def add_resource_settings(self, params: dict[str, Any]) -> MethodReturn:
        vm = self.vm_of_configuration(params.get("AffectedConfiguration"), "AffectedConfiguration")
        results = []
        for item in _required_list(params, "ResourceSettings"):
            vm = self.virt.backend.get_vm(vm.id)
            results.append(self.add_one(vm, read_embedded(item, "ResourceSettings")))
        return MethodReturn(0, {"ResultingResourceSettings": results})

    def add_one(self, vm: VirtualMachine, bag: Any, defining: bool = False) -> CIMInstanceName:
        """One RASD added; while `defining` (DefineSystem's ResourceSettings),
        memory and processor settings, which a VM has one of each, replace
        the new VM's defaults, as Hyper-V takes them there."""
        kind = kind_of_new(bag)
        current = None
        if kind in (kinds.PROCESSOR, kinds.MEMORY):
            if not defining:
                raise invalid_parameter("ResourceType", f"a VM has exactly one {kind.subtype_name.lower()}; modify it instead")
            current = vm.processor if kind is kinds.PROCESSOR else vm.memory
        change = apply(self.virt, vm, kind, bag, current)
        refuse_unhonoured(self.virt.renderer, kind.classname, bag, dict(template_values(kind, "Default")))
        return self.carry_out(vm.id, change)

    def modify_resource_settings(self, params: dict[str, Any]) -> MethodReturn:
        results = []
        for item in _required_list(params, "ResourceSettings"):
            bag = read_embedded(item, "ResourceSettings")
            vm, setting = locate(self.virt, bag)
            change = apply(self.virt, vm, setting.kind, bag, setting.device)
            refuse_unhonoured(self.virt.renderer, setting.kind.classname, bag, setting.values)
            results.append(self.carry_out(vm.id, change))
        return MethodReturn(0, {"ResultingResourceSettings": results})

    def carry_out(self, vm_id: UUID, change: DeviceChange) -> CIMInstanceName:
        backend = self.virt.backend
        if change.kind in kinds.DISPLAY_KINDS:  # the display's settings are the VM's
            store_display(backend, vm_id, change.device)
            return self.virt.setting_path(change.kind.classname, ids.device_setting_id(vm_id, display_guid(vm_id, "controller")))
        if change.operation == "add":
            device = backend.add_device(vm_id, change.device)
        else:
            device = backend.modify_device(vm_id, change.device)
        vm = backend.get_vm(vm_id)
        for setting in vm_settings(self.virt, vm):
            if setting.device.id == device.id and setting.aspect == change.result_aspect:
                return self.virt.setting_path(setting.kind.classname, setting.instance_id)
        raise MethodFailure(NOT_FOUND, f"the changed {change.kind.subtype_name} has no setting")

    def remove_resource_settings(self, params: dict[str, Any]) -> MethodReturn:
        for path in _required_list(params, "ResourceSettings"):
            if not isinstance(path, CIMInstanceName):
                raise invalid_parameter("ResourceSettings", "expected references to resource settings")
            instance_id = next((v for k, v in path.keybindings.items() if k.lower() == "instanceid"), "")
            ref = ids.parse_setting_id(str(instance_id))
            vm = self.existing_vm(ref.vm_id if ref else None, "ResourceSettings")
            setting = find_setting(self.virt, vm, str(instance_id))
            if setting is None:
                raise MethodFailure(NOT_FOUND, f"ResourceSettings: no setting {instance_id}")
            if setting.kind in kinds.COMPONENT_KINDS:
                raise invalid_parameter("ResourceSettings", f"{instance_id}: integration components cannot be removed; disable them")
            if setting.kind in kinds.DISPLAY_KINDS:
                raise invalid_parameter("ResourceSettings", f"{instance_id}: a VM's display controller cannot be removed")
            if setting.aspect == MEDIA:
                self.virt.backend.modify_device(vm.id, setting.device.replace(media=None))
            elif setting.aspect == CONNECTION:
                # The port's features go with the connection, as on Hyper-V.
                self.virt.backend.modify_device(vm.id, setting.device.replace(switch_id=None, vlan=None, security=None, bandwidth=None))
            else:
                self.virt.backend.remove_device(vm.id, setting.device.id)
        return MethodReturn(0)

    # --- summary and KVP -----------------------------------------------------

    def get_summary_information(self, params: dict[str, Any]) -> MethodReturn:
        paths = params.get("SettingData")
        requested = params.get("RequestedInformation") or []
        if paths is None:  # every VM: one that vanishes meanwhile is left out
            vms = self.virt.backend.list_vms()
            found = list(self.virt.present(vms, lambda vm: [summary_information(self.virt, vm, requested)]))
        else:
            vms = [self.vm_of_configuration(path, "SettingData") for path in paths]
            found = [summary_information(self.virt, vm, requested) for vm in vms]
        return MethodReturn(0, {"SummaryInformation": found})

    def kvp_items(self, params: dict[str, Any], operation: str) -> MethodReturn:
        vm = self.vm_of_system(params.get("TargetSystem"), "TargetSystem")
        texts = params.get("DataItems") or []
        if len(texts) > KVP_ITEM_LIMIT:
            raise invalid_parameter("DataItems", f"at most {KVP_ITEM_LIMIT} items per call")
        sources = {code: source for source, code in KVP_SOURCES.items()}
        items = []
        for text in texts:
            bag = read_embedded(text, "DataItems")
            source = sources.get(bag.integer("Source") or 0)
            if source is None:
                raise invalid_parameter("Source", f"{bag.integer('Source')} is not 0 (host) or 4 (host only)")
            try:
                items.append(KvpItem(name=bag.text("Name") or "", data=bag.text("Data") or "", source=source))
            except Exception as error:  # noqa: BLE001
                from cimprovider.providers.virtualization.systems.settings import named_failure

                raise named_failure(error, {"name": "Name", "data": "Data", "source": "Source"}) from None
        if operation == "add":
            self.virt.backend.add_kvp_items(vm.id, items)
        elif operation == "modify":
            self.virt.backend.modify_kvp_items(vm.id, items)
        else:
            self.virt.backend.remove_kvp_items(vm.id, [item.name for item in items])
        return MethodReturn(0)

    # --- references ----------------------------------------------------------

    def roots(self) -> tuple[Path, ...]:
        return self.storage_roots

    def shown_before(self, source: VirtualMachine | None) -> dict[str, Any]:
        """The VSSD a DefineSystem's settings start from: the reference
        VM's, or a new VM's defaults."""
        return vssd_as_shown(self.virt, source) if source is not None else default_data_roots(default_root(self.virt))

    def existing_vm(self, vm_id: UUID | None, parameter: str) -> VirtualMachine:
        vm = self.virt.find_vm(vm_id) if vm_id is not None else None
        if vm is None:
            raise MethodFailure(NOT_FOUND, f"{parameter}: no such virtual machine")
        return vm

    def vm_of_system(self, path: Any, parameter: str) -> VirtualMachine:
        if not isinstance(path, CIMInstanceName):
            raise invalid_parameter(parameter, "a reference to a virtual machine is required")
        return self.existing_vm(self.virt.vm_from_system(path), parameter)

    def vm_of_configuration(self, path: Any, parameter: str) -> VirtualMachine:
        """A VSSD path, or (as os-win passes) the CS path."""
        if not isinstance(path, CIMInstanceName):
            raise invalid_parameter(parameter, "a reference to a virtual machine's settings is required")
        instance_id = next((v for k, v in path.keybindings.items() if k.lower() == "instanceid"), None)
        if instance_id is None:
            return self.vm_of_system(path, parameter)
        ref = ids.parse_setting_id(str(instance_id))
        if ref is None or ref.parts:
            raise MethodFailure(INVALID_PARAMETER, f"{parameter}: {instance_id!r} is not a virtual machine's settings")
        return self.existing_vm(ref.vm_id, parameter)


def clone_devices(vm: VirtualMachine) -> tuple[list[Any], list[tuple[Controller, Drive]]]:
    """The source VM's resources with fresh identities: what DefineSystem
    passes to the backend, and the drives to add afterwards on the clone's
    controller that matches (by type and number) their original one.
    Dynamic MAC addresses are reassigned; static ones are kept."""
    scsi = {c.id: c.replace(id=uuid4()) for c in vm.controllers if c.controller_type is ControllerType.SCSI}
    devices: list[Any] = [vm.processor, vm.memory, *vm.serial_ports, *vm.integration_services, *scsi.values()]
    devices += [nic.replace(id=uuid4(), mac_address=nic.mac_address if nic.static_mac else None) for nic in vm.network_adapters]
    drives = []
    for drive in vm.drives:
        controller = vm.controller(drive.controller_id)
        if controller is None:
            continue
        media = drive.media.replace(id=uuid4()) if drive.media else None
        drives.append((controller, drive.replace(id=uuid4(), media=media)))
    return devices, drives


def place_cloned_drives(backend: Any, vm: VirtualMachine, drives: list[tuple[Controller, Drive]]) -> None:
    for original, drive in drives:
        target = next(
            (c for c in vm.controllers if c.controller_type is original.controller_type and c.number == original.number),
            None,
        )
        if target is not None:
            backend.add_device(vm.id, drive.replace(controller_id=target.id))


def _required_list(params: dict[str, Any], name: str) -> list[Any]:
    """A method's array parameter that must name at least one item: a call
    without one would answer 0 having done nothing."""
    items = params.get(name) or []
    if not items:
        raise invalid_parameter(name, "is required: give at least one")
    return items
