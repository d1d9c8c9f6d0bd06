"""The model's associations, each a set of (left, right) pairs served in
both directions without enumerating the whole model: traversal from one
VM touches that VM only, so associators stay cheap with thousands of VMs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.backends import NotFoundError, SnapshotBackend
from cimprovider.jobs import JobNotFoundError
from cimprovider.providers.base import AssociationProvider, OperationContext, PropertySet, Pushdown
from cimprovider.providers.virtualization import ids, kinds
from cimprovider.providers.virtualization.resources.devices import present_devices
from cimprovider.providers.virtualization.jobs import JOB, job_path
from cimprovider.providers.virtualization.model import CS, VSMS, Virtualization
from cimprovider.providers.virtualization.resources.pools import (
    ALLOCATION_CAPABILITIES,
    MANAGEMENT_CAPABILITIES,
    MANAGEMENT_CAPABILITIES_ID,
    MANAGEMENT_SETTINGS,
    capabilities_id,
    pool_id,
)
from cimprovider.providers.virtualization.resources.host_topology import NUMA_NODE, host_device_path, host_topology, is_host_device
from cimprovider.providers.virtualization.resources.resources import vm_settings
from cimprovider.providers.virtualization.systems.settings import VSSD
from cimprovider.providers.virtualization.resources.templates import VALUE_ROLES

Pair = tuple[CIMInstanceName, CIMInstanceName]


def key(path: CIMInstanceName, name: str) -> Any:
    return next((v for k, v in path.keybindings.items() if k.lower() == name.lower()), None)


def is_class(path: CIMInstanceName, *classnames: str) -> bool:
    return path.classname.lower() in {c.lower() for c in classnames}


class PairAssociation(AssociationProvider):
    classname: ClassVar[str]
    roles: ClassVar[tuple[str, str]]

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt
        self.classnames = (self.classname,)  # type: ignore[misc]

    def pairs(self) -> Iterator[Pair]:
        raise NotImplementedError

    def rights(self, left: CIMInstanceName) -> Iterator[CIMInstanceName]:
        """The right ends for `left`; the default filters `pairs`."""
        return (r for l, r in self.pairs() if same_instance(l, left))

    def lefts(self, right: CIMInstanceName) -> Iterator[CIMInstanceName]:
        return (l for l, r in self.pairs() if same_instance(r, right))

    def extra(self, left: CIMInstanceName, right: CIMInstanceName) -> dict[str, Any]:
        return {}

    def instance(self, left: CIMInstanceName, right: CIMInstanceName, properties: PropertySet = None) -> CIMInstance:
        values = {self.roles[0]: left, self.roles[1]: right, **self.extra(left, right)}
        return self.virt.renderer.instance(self.classname, values, properties)

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for left, right in self.pairs():
            yield self.instance(left, right, properties)

    def references(self, ctx: OperationContext, classname: str, target: CIMInstanceName, role: str | None) -> Iterator[CIMInstance]:
        if role is None or role.lower() == self.roles[0].lower():
            for right in self.rights(target):
                yield self.instance(target, right)
        if role is None or role.lower() == self.roles[1].lower():
            for left in self.lefts(target):
                yield self.instance(left, target)


def same_instance(a: CIMInstanceName, b: CIMInstanceName) -> bool:
    """Two paths to one instance of the model: class and key names without
    case, key values compared as text without case (GUIDs in any case)."""
    if a.classname.lower() != b.classname.lower():
        return False
    keys_a = {k.lower(): str(v).lower() for k, v in a.keybindings.items()}
    keys_b = {k.lower(): str(v).lower() for k, v in b.keybindings.items()}
    return keys_a == keys_b


class PerVm(PairAssociation):
    """Pairs that belong to one VM: traversal reads only that VM."""

    def vm_pairs(self, vm: Any) -> Iterator[Pair]:
        raise NotImplementedError

    def vm_of(self, path: CIMInstanceName) -> Any:
        found = None
        for name in ("InstanceID", "Name", "SystemName"):
            value = key(path, name)
            if isinstance(value, str):
                ref = ids.parse_setting_id(value) if name == "InstanceID" else None
                found = ref.vm_id if ref else ids.parse_guid(value)
                break
        return self.virt.find_vm(found) if found is not None else None

    def pairs(self) -> Iterator[Pair]:
        return self.virt.present(self.virt.backend.list_vms(), self.vm_pairs)

    def rights(self, left: CIMInstanceName) -> Iterator[CIMInstanceName]:
        vm = self.vm_of(left)
        pairs = self.virt.present([vm], self.vm_pairs) if vm is not None else iter(())
        return (r for l, r in pairs if same_instance(l, left))

    def lefts(self, right: CIMInstanceName) -> Iterator[CIMInstanceName]:
        vm = self.vm_of(right)
        pairs = self.virt.present([vm], self.vm_pairs) if vm is not None else iter(())
        return (l for l, r in pairs if same_instance(r, right))


class SettingsDefineState(PerVm):
    classname = "Msvm_SettingsDefineState"
    roles = ("ManagedElement", "SettingData")

    def vm_pairs(self, vm: Any) -> Iterator[Pair]:
        yield self.virt.vm_path(vm.id), self.virt.setting_path(VSSD, ids.vssd_id(vm.id))
        for device in present_devices(self.virt, vm):
            if device.setting_id is not None and device.setting_class is not None:
                path = self.virt.device_path(device.classname, vm.id, device.values["DeviceID"])
                yield path, self.virt.setting_path(device.setting_class, device.setting_id)


class SettingDataComponent(PerVm):
    """A VM's settings and its resource settings; a snapshot's VSSD and the
    settings it froze (model.frozen_view), as Hyper-V shows a checkpoint's."""

    classname = "Msvm_VirtualSystemSettingDataComponent"
    roles = ("GroupComponent", "PartComponent")

    def vm_pairs(self, vm: Any) -> Iterator[Pair]:
        vssd = self.virt.setting_path(VSSD, ids.vssd_id(vm.id))
        for setting in vm_settings(self.virt, vm):
            yield vssd, self.virt.setting_path(setting.kind.classname, setting.instance_id)

    def vm_of(self, path: CIMInstanceName) -> Any:
        instance_id = key(path, "InstanceID")
        ref = ids.parse_setting_id(instance_id) if isinstance(instance_id, str) else None
        return self.virt.settings_owner(ref.vm_id) if ref is not None else None

    def pairs(self) -> Iterator[Pair]:
        yield from super().pairs()
        yield from self.virt.present(self.virt.snapshot_views(), self.vm_pairs)


class SystemDevice(PerVm):
    classname = "Msvm_SystemDevice"
    roles = ("GroupComponent", "PartComponent")

    def vm_pairs(self, vm: Any) -> Iterator[Pair]:
        system = self.virt.vm_path(vm.id)
        for device in present_devices(self.virt, vm):
            yield system, self.virt.device_path(device.classname, vm.id, device.values["DeviceID"])


class HostedDependency(PairAssociation):
    """The host hosts its VMs; each host NUMA node hosts its processors and memory."""

    classname = "Msvm_HostedDependency"
    roles = ("Antecedent", "Dependent")

    def pairs(self) -> Iterator[Pair]:
        host = self.virt.host_path()
        for vm in self.virt.backend.list_vms():
            yield host, self.virt.vm_path(vm.id)
        yield from self.topology_pairs()

    def topology_pairs(self) -> Iterator[Pair]:
        for node, devices in host_topology(self.virt):
            for device in devices:
                yield host_device_path(self.virt, node), host_device_path(self.virt, device)

    def rights(self, left: CIMInstanceName) -> Iterator[CIMInstanceName]:
        if is_class(left, NUMA_NODE):
            return (r for l, r in self.topology_pairs() if same_instance(l, left))
        if is_class(left, CS) and same_instance(left, self.virt.host_path()):
            return (self.virt.vm_path(vm.id) for vm in self.virt.backend.list_vms())
        return iter(())

    def lefts(self, right: CIMInstanceName) -> Iterator[CIMInstanceName]:
        if is_host_device(self.virt, right):
            yield from (l for l, r in self.topology_pairs() if same_instance(r, right))
            return
        vm_id = self.virt.vm_from_system(right) if is_class(right, CS) else None
        if vm_id is not None and self.virt.find_vm(vm_id) is not None:
            yield self.virt.host_path()


class HostedService(PairAssociation):
    classname = "Msvm_HostedService"
    roles = ("Antecedent", "Dependent")

    def pairs(self) -> Iterator[Pair]:
        yield self.virt.host_path(), self.virt.service_path()


class ElementSettingData(PerVm):
    classname = "Msvm_ElementSettingData"
    roles = ("ManagedElement", "SettingData")

    def pairs(self) -> Iterator[Pair]:
        yield self.virt.service_path(), self.virt.setting_path(MANAGEMENT_SETTINGS, f"Microsoft:{self.virt.host_name}")
        yield from super().pairs()

    def vm_pairs(self, vm: Any) -> Iterator[Pair]:
        yield self.virt.vm_path(vm.id), self.virt.setting_path(VSSD, ids.vssd_id(vm.id))

    def rights(self, left: CIMInstanceName) -> Iterator[CIMInstanceName]:
        if is_class(left, VSMS):
            return (r for l, r in self.pairs() if same_instance(l, left))
        return super().rights(left)

    def lefts(self, right: CIMInstanceName) -> Iterator[CIMInstanceName]:
        if is_class(right, MANAGEMENT_SETTINGS):
            return (l for l, r in self.pairs() if same_instance(r, right))
        return super().lefts(right)


class ElementCapabilities(PairAssociation):
    classname = "Msvm_ElementCapabilities"
    roles = ("ManagedElement", "Capabilities")

    def pairs(self) -> Iterator[Pair]:
        yield self.virt.service_path(), self.virt.setting_path(MANAGEMENT_CAPABILITIES, MANAGEMENT_CAPABILITIES_ID)
        for kind in kinds.KINDS:
            yield self.virt.setting_path(kind.pool_class, pool_id(kind)), self.virt.setting_path(ALLOCATION_CAPABILITIES, capabilities_id(kind))


class HostedResourcePool(PairAssociation):
    classname = "Msvm_HostedResourcePool"
    roles = ("GroupComponent", "PartComponent")

    def pairs(self) -> Iterator[Pair]:
        host = self.virt.host_path()
        for kind in kinds.KINDS:
            yield host, self.virt.setting_path(kind.pool_class, pool_id(kind))


class SettingsDefineCapabilities(PairAssociation):
    classname = "Msvm_SettingsDefineCapabilities"
    roles = ("GroupComponent", "PartComponent")

    def pairs(self) -> Iterator[Pair]:
        for kind in kinds.KINDS:
            capabilities = self.virt.setting_path(ALLOCATION_CAPABILITIES, capabilities_id(kind))
            for role in ids.TEMPLATE_ROLES:
                yield capabilities, self.virt.setting_path(kind.classname, ids.template_id(kind.guid, role))

    def extra(self, left: CIMInstanceName, right: CIMInstanceName) -> dict[str, Any]:
        template = ids.parse_template_id(str(key(right, "InstanceID")))
        value_role, value_range = VALUE_ROLES[template[1]] if template else (0, 0)
        return {"ValueRole": value_role, "ValueRange": value_range, "PropertyPolicy": 0}


_POOLED_DEVICES = {
    "msvm_processor": kinds.PROCESSOR,
    "msvm_memory": kinds.MEMORY,
    "msvm_diskdrive": kinds.DISK_DRIVE,
    "msvm_dvddrive": kinds.DVD_DRIVE,
    "msvm_syntheticethernetport": kinds.SYNTHETIC_NIC,
}

_POOL_CLASSES = frozenset(kind.pool_class.lower() for kind in _POOLED_DEVICES.values())


class ElementAllocatedFromPool(PerVm):
    classname = "Msvm_ElementAllocatedFromPool"
    roles = ("Antecedent", "Dependent")

    def vm_pairs(self, vm: Any) -> Iterator[Pair]:
        for device in present_devices(self.virt, vm):
            kind = _POOLED_DEVICES.get(device.classname.lower())
            if kind is not None:
                yield self.virt.setting_path(kind.pool_class, pool_id(kind)), self.virt.device_path(device.classname, vm.id, device.values["DeviceID"])

    def rights(self, left: CIMInstanceName) -> Iterator[CIMInstanceName]:
        # From a pool: every VM's devices of that kind. From anything else
        # (a VM, a device) there is nothing on this side.
        if left.classname.lower() not in _POOL_CLASSES:
            return iter(())
        return (r for l, r in self.pairs() if same_instance(l, left))


class AffectedJobElement(PairAssociation):
    classname = "Msvm_AffectedJobElement"
    roles = ("AffectedElement", "AffectingElement")

    def pairs(self) -> Iterator[Pair]:
        for job in self.virt.jobs.list():
            for index, element_id in enumerate(job.affected_element_ids):
                path = self.affected_path(element_id, first=index == 0)
                if path is not None:
                    yield path, job_path(self.virt, job.id)

    def affected_path(self, element_id: Any, first: bool) -> CIMInstanceName | None:
        """A job's first affected element is its VM (even once destroyed);
        the others are what it made — a snapshot job's snapshot, whose VSSD
        os-win reads through this association — or VMs. An element not (or
        not yet) there is left out."""
        if first or self.virt.find_vm(element_id) is not None:
            return self.virt.vm_path(element_id)
        backend = self.virt.backend
        if isinstance(backend, SnapshotBackend):
            try:
                backend.get_snapshot(element_id)
            except NotFoundError:
                return None
            return self.virt.setting_path(VSSD, ids.vssd_id(element_id))
        return None


class OwningJobElement(PairAssociation):
    classname = "Msvm_OwningJobElement"
    roles = ("OwningElement", "OwnedElement")

    def pairs(self) -> Iterator[Pair]:
        service = self.virt.service_path()
        for job in self.virt.jobs.list():
            yield service, job_path(self.virt, job.id)

    def lefts(self, right: CIMInstanceName) -> Iterator[CIMInstanceName]:
        job_id = ids.parse_guid(str(key(right, "InstanceID"))) if is_class(right, JOB) else None
        if job_id is None:
            return
        try:
            self.virt.jobs.get(job_id)
        except JobNotFoundError:
            return
        yield self.virt.service_path()


class JoinedAssociation(AssociationProvider):
    """One association class served by the parts several families
    contribute (the VMs' Msvm_SystemDevice and the switches')."""

    def __init__(self, parts: list[AssociationProvider]) -> None:
        self.parts = parts
        self.classnames = parts[0].classnames  # type: ignore[misc]

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for part in self.parts:
            yield from part.enumerate_instances(ctx, classname, properties, pushdown)

    def references(self, ctx: OperationContext, classname: str, target: CIMInstanceName, role: str | None) -> Iterator[CIMInstance]:
        for part in self.parts:
            yield from part.references(ctx, classname, target, role)


def joined(providers: list[AssociationProvider]) -> list[AssociationProvider]:
    """The providers with those of one class joined into one, in order."""
    groups: dict[str, list[AssociationProvider]] = {}
    for provider in providers:
        groups.setdefault(provider.classnames[0].lower(), []).append(provider)
    return [group[0] if len(group) == 1 else JoinedAssociation(group) for group in groups.values()]


ASSOCIATIONS = (
    SettingsDefineState, SettingDataComponent, SystemDevice, HostedDependency, HostedService, ElementSettingData,
    ElementCapabilities, SettingsDefineCapabilities, ElementAllocatedFromPool, AffectedJobElement, OwningJobElement,
    HostedResourcePool,
)
