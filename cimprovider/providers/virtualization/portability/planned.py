"""Planned virtual machines as Hyper-V shows them: Msvm_PlannedComputerSystem
(Name = the GUID the VM will have) and its settings, a VSSD with
VirtualSystemType `Microsoft:Hyper-V:System:Planned` and InstanceID
`Microsoft:<GUID>` (the VSSD class has one provider, so this one wraps
it). A client finds the planned VSSD by that InstanceID or by
VirtualSystemType; no association leads from the planned system to it yet,
and its resource settings are not served (the planned definition keeps
them, and realizing uses them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.backends import NotFoundError
from cimprovider.backends.planned import PlannedSystem, PlannedSystemBackend
from cimprovider.providers.base import InstanceProvider, Keepable, Keepables, OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.systems.settings import VSSD, vssd_values

PLANNED_CS = "Msvm_PlannedComputerSystem"
PLANNED = "Microsoft:Hyper-V:System:Planned"


def planned_backend(virt: Virtualization) -> PlannedSystemBackend | None:
    return virt.backend if isinstance(virt.backend, PlannedSystemBackend) else None


def planned_path(virt: Virtualization, planned_id: UUID) -> CIMInstanceName:
    return CIMInstanceName(PLANNED_CS, keybindings={"CreationClassName": PLANNED_CS, "Name": ids.guid(planned_id)},
                           namespace=virt.namespace)  # fmt: skip


def find_planned(virt: Virtualization, path: Any) -> PlannedSystem | None:
    """The planned system a Msvm_PlannedComputerSystem path (or its VSSD's
    InstanceID) names, or None."""
    backend = planned_backend(virt)
    if backend is None:
        return None
    planned_id = None
    if isinstance(path, CIMInstanceName):
        name = next((v for k, v in path.keybindings.items() if k.lower() == "name"), None)
        if path.classname.lower() == PLANNED_CS.lower() and isinstance(name, str):
            planned_id = ids.parse_guid(name)
        else:
            instance_id = next((v for k, v in path.keybindings.items() if k.lower() == "instanceid"), None)
            ref = ids.parse_setting_id(instance_id) if isinstance(instance_id, str) else None
            planned_id = ref.vm_id if ref is not None and not ref.parts else None
    if planned_id is None:
        return None
    try:
        return backend.get_planned_system(planned_id)
    except NotFoundError:
        return None


def planned_system_values(planned: PlannedSystem) -> dict[str, Any]:
    return {
        "CreationClassName": PLANNED_CS,
        "Name": ids.guid(planned.id),
        "ElementName": planned.vm.name,
        "Caption": "Planned Virtual Machine",
        "Description": "Microsoft Planned Virtual Machine",
        "EnabledState": 3,
        "RequestedState": 12,
        "EnabledDefault": 2,
        "HealthState": 5,
        "OperationalStatus": [2],
        "Dedicated": [0],
        "InstallDate": planned.created_at,
        "TimeOfLastConfigurationChange": planned.created_at,
    }


def planned_settings_values(virt: Virtualization, planned: PlannedSystem) -> dict[str, Any]:
    values = vssd_values(virt, planned.vm.model_copy(update={"id": planned.id}))
    values.update(
        VirtualSystemType=PLANNED,
        Caption="Planned Virtual Machine Settings",
        Description="Settings of a virtual machine imported but not yet realized.",
        ConfigurationFile=planned.definition_file,
        ConfigurationDataRoot=planned.source_folder,
    )
    return values


class PlannedSystemProvider(InstanceProvider):
    classnames = (PLANNED_CS,)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        backend = planned_backend(self.virt)
        for planned in backend.list_planned_systems() if backend is not None else []:
            yield self.virt.renderer.instance(PLANNED_CS, planned_system_values(planned), properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        planned = find_planned(self.virt, path) if path.classname.lower() == PLANNED_CS.lower() else None
        if planned is None:
            raise instance_not_found(path)
        return self.virt.renderer.instance(PLANNED_CS, planned_system_values(planned), properties)


class SettingsWithPlanned(InstanceProvider):
    """Msvm_VirtualSystemSettingData: what the wrapped provider serves
    (realized VMs and snapshots) and every planned system's settings."""

    classnames = (VSSD,)

    def __init__(self, virt: Virtualization, inner: InstanceProvider) -> None:
        self.virt = virt
        self.inner = inner

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        yield from self.inner.enumerate_instances(ctx, classname, properties, pushdown)
        backend = planned_backend(self.virt)
        for planned in backend.list_planned_systems() if backend is not None else []:
            yield self.virt.renderer.instance(VSSD, planned_settings_values(self.virt, planned), properties)

    def enumerate_keepable(self, ctx: OperationContext, classname: str, properties: PropertySet) -> Iterator[CIMInstance | Keepable | Keepables] | None:
        inner = self.inner.enumerate_keepable(ctx, classname, properties)
        return None if inner is None else self._keepable(inner, properties)

    def _keepable(self, inner: Iterator[CIMInstance | Keepable | Keepables], properties: PropertySet) -> Iterator[CIMInstance | Keepable | Keepables]:
        yield from inner
        backend = planned_backend(self.virt)
        for planned in backend.list_planned_systems() if backend is not None else []:
            yield self.virt.renderer.instance(VSSD, planned_settings_values(self.virt, planned), properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        try:
            return self.inner.get_instance(ctx, path, properties)
        except Exception:
            planned = find_planned(self.virt, path)
            if planned is None:
                raise
            return self.virt.renderer.instance(VSSD, planned_settings_values(self.virt, planned), properties)
