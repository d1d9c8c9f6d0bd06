"""Setting-data templates and the provider of every per-VM setting class.

Each resource kind has four templates, `Microsoft:Definition\\<GUID>\\Default`
(and Minimum, Maximum, Increment), of the kind's own class. They appear in
ordinary enumeration and queries (os-win: `… WHERE InstanceID LIKE
'%\\Default'`) and behind the primordial pool's allocation capabilities.
Clients copy the Default, change it and pass it to AddResourceSettings."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from functools import lru_cache
from typing import Any
from uuid import UUID

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.providers.base import InstanceProvider, Keepables, OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids, kinds
from cimprovider.providers.virtualization.kinds import ResourceKind
from cimprovider.providers.virtualization.keeping import fresh
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.resources.resources import (
    Values,
    common,
    find_setting,
    memory_values,
    processor_values,
    settings_of_class,
)
from cimprovider.schemas.vm import VirtualMachine
from cimprovider.schemas.devices import MAX_MEMORY_MB, MAX_PROCESSORS, MemorySettings, ProcessorSettings

# ValueRole / ValueRange of Msvm_SettingsDefineCapabilities per template.
VALUE_ROLES = {"Default": (0, 0), "Minimum": (1, 3), "Maximum": (2, 3), "Increment": (3, 3)}


def _processor(role: str, instance_id: str) -> Values:
    cpu = {
        "Default": ProcessorSettings(),
        "Minimum": ProcessorSettings(count=1, limit_percent=0, weight=0),
        "Maximum": ProcessorSettings(count=MAX_PROCESSORS, reservation_percent=100, weight=10000),
        "Increment": ProcessorSettings(count=1, reservation_percent=0.001, limit_percent=0.001, weight=1),
    }[role]
    return processor_values(instance_id, cpu)


def _memory(role: str, instance_id: str) -> Values:
    if role == "Increment":
        values = memory_values(instance_id, MemorySettings())
        values.update(VirtualQuantity=2, Reservation=2, Limit=2, TargetMemoryBuffer=1)
        return values
    memory = {
        "Default": MemorySettings(),
        "Minimum": MemorySettings(startup_mb=32, minimum_mb=32, maximum_mb=32, buffer_percent=5),
        "Maximum": MemorySettings(startup_mb=MAX_MEMORY_MB, minimum_mb=MAX_MEMORY_MB, maximum_mb=MAX_MEMORY_MB, buffer_percent=2000),
    }[role]
    return memory_values(instance_id, memory)


_DEFAULT_NAMES = {
    "ide_controller": "IDE Controller",
    "scsi_controller": "SCSI Controller",
    "disk_drive": "Hard Drive",
    "physical_disk": "Hard Drive",
    "dvd_drive": "DVD Drive",
    "hard_disk": "Hard Disk Image",
    "dvd_disk": "ISO Disk Image",
    "synthetic_nic": "Network Adapter",
    "emulated_nic": "Legacy Network Adapter",
    "connection": "Ethernet Connection",
    "serial_port": "COM 1",
    "pci_express": "PCI Express Port",
    "synthetic_display": "Synthetic Display Controller",
    "s3_display": "S3 Display Controller",
}
# The display's resolutions per template role (ResolutionType 4: default).
_RESOLUTIONS = {"Default": (1024, 768), "Minimum": (640, 480), "Maximum": (7680, 4320), "Increment": (1, 1)}


@lru_cache(maxsize=None)
def template_values(kind: ResourceKind, role: str) -> tuple[tuple[str, Any], ...]:
    instance_id = ids.template_id(kind.guid, role)
    if kind is kinds.PROCESSOR:
        values = _processor(role, instance_id)
    elif kind is kinds.MEMORY:
        values = _memory(role, instance_id)
    else:
        values = common(kind, instance_id, _DEFAULT_NAMES[kind.key])
        values["Parent"] = None
        if kind in (kinds.SYNTHETIC_NIC, kinds.EMULATED_NIC):
            values.update(Address="", StaticMacAddress=False)
        if kind is kinds.CONNECTION:
            values.update(EnabledState=2)
        if kind is kinds.SERIAL_PORT:
            values.update(Connection=[""], DebuggerMode=False)
        if kind is kinds.PCI_EXPRESS:
            values.update(VirtualFunctions=[0])
        if kind in kinds.DISPLAY_KINDS:
            width, height = _RESOLUTIONS[role]
            values.update(ResolutionType=4, HorizontalResolution=width, VerticalResolution=height)
    values["Caption"] = f"{_caption(kind)} {role} Settings"
    return tuple(values.items())


def _caption(kind: ResourceKind) -> str:
    return kind.subtype_name


def templates_of_class(classname: str) -> Iterator[tuple[ResourceKind, str]]:
    for kind in kinds.KINDS:
        if kind.classname.lower() == classname.lower():
            for role in ids.TEMPLATE_ROLES:
                yield kind, role


class _KeptResourceSettings:
    """One class's per-VM settings of one enumeration, built when nothing is kept."""

    def __init__(self, virt: Virtualization, classname: str, properties: PropertySet) -> None:
        self.virt = virt
        self.classname = classname
        self.properties = properties

    def build(self, vm_id: UUID, instance_id: str) -> CIMInstance | None:
        def read(vm: VirtualMachine) -> CIMInstance | None:
            setting = find_setting(self.virt, vm, instance_id)
            if setting is None or setting.kind.classname.lower() != self.classname.lower():
                return None  # the device went since the enumeration listed it
            return self.virt.renderer.instance(self.classname, setting.values, self.properties)

        return fresh(self.virt, vm_id, read)

    def live(self, vm_id: UUID) -> dict[str, Any]:
        return {}


class ResourceSettingsProvider(InstanceProvider):
    """Every per-VM resource setting class and its templates."""

    classnames = kinds.SETTING_CLASSES

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        render = self.virt.renderer.instance
        owners = [*self.virt.vms(pushdown), *self.virt.snapshot_views(pushdown)]
        for setting in self.virt.present(owners, lambda vm: settings_of_class(self.virt, vm, classname)):
            yield render(classname, setting.values, properties)
        prefix = pushdown.prefix_for("InstanceID") if pushdown is not None else None
        if not (isinstance(prefix, str) and ids.parse_setting_id(prefix) is not None):
            for kind, role in templates_of_class(classname):
                yield render(classname, dict(template_values(kind, role)), properties)

    def enumerate_keepable(self, ctx: OperationContext, classname: str, properties: PropertySet) -> Iterator[CIMInstance | Keepables]:
        owners: list[Hashable] = []
        keys: list[Hashable] = []
        for vm in self.virt.vms():
            for setting in fresh(self.virt, vm.id, lambda vm: list(settings_of_class(self.virt, vm, classname))) or ():
                owners.append(vm.id)
                keys.append(setting.instance_id)
        yield Keepables(owners, keys, _KeptResourceSettings(self.virt, classname, properties))
        # A snapshot's settings never change but it may go: built each time.
        for view in self.virt.snapshot_views():
            for setting in settings_of_class(self.virt, view, classname):
                yield self.virt.renderer.instance(classname, setting.values, properties)
        for kind, role in templates_of_class(classname):
            yield self.virt.renderer.instance(classname, dict(template_values(kind, role)), properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        instance_id = next((v for k, v in path.keybindings.items() if k.lower() == "instanceid"), None)
        values = self.find(path.classname, instance_id) if isinstance(instance_id, str) else None
        if values is None:
            raise instance_not_found(path)
        return self.virt.renderer.instance(self.canonical(path.classname), values, properties)

    @staticmethod
    def canonical(classname: str) -> str:
        return next(c for c in kinds.SETTING_CLASSES if c.lower() == classname.lower())

    def find(self, classname: str, instance_id: str) -> Values | None:
        template = ids.parse_template_id(instance_id)
        if template is not None:
            kind = kinds.BY_GUID.get(template[0])
            if kind is None or kind.classname.lower() != classname.lower():
                return None
            return dict(template_values(kind, template[1]))
        ref = ids.parse_setting_id(instance_id)
        owner = self.virt.settings_owner(ref.vm_id) if ref is not None else None
        setting = find_setting(self.virt, owner, instance_id) if owner is not None else None
        if setting is None or setting.kind.classname.lower() != classname.lower():
            return None
        return setting.values
