"""Msvm_VirtualSystemSettingData: a VM's system settings, both ways.

One realized VSSD per VM, InstanceID `Microsoft:<VMGUID>`, ConfigurationID
and VirtualSystemIdentifier the VM's GUID (os-win finds the CS with
`Name = vssd.ConfigurationID`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from pywbem import CIMInstance, CIMInstanceName

from cimprovider.backends import NotFoundError, SnapshotBackend
from cimprovider.providers.base import InstanceProvider, Keepables, OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.embedded import PropertyBag, read_settings
from cimprovider.providers.virtualization.errors import MethodFailure, invalid_parameter, INVALID_PARAMETER
from cimprovider.providers.virtualization.keeping import fresh
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.systems.boot_sources import boot_source_order
from cimprovider.providers.virtualization.systems.secure_boot import (
    find_template,
    read_template,
    template_id,
    template_values,
)
from cimprovider.providers.virtualization.systems.data_roots import (
    DATA_ROOTS,
    data_root_values,
    read_data_roots,
)
from cimprovider.schemas.base import describe_validation_error
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.vm import (
    AutomaticStartAction,
    AutomaticStopAction,
    BootDevice,
    SecureBootTemplate,
    SnapshotType,
    SystemSettings,
    VirtualMachine,
)

VSSD = "Msvm_VirtualSystemSettingData"
REALIZED = "Microsoft:Hyper-V:System:Realized"
SUBTYPE = "Microsoft:Hyper-V:SubType:{}"

START_ACTIONS = {AutomaticStartAction.NONE: 2, AutomaticStartAction.RESTART_IF_RUNNING: 3, AutomaticStartAction.ALWAYS_START: 4}
STOP_ACTIONS = {AutomaticStopAction.TURN_OFF: 2, AutomaticStopAction.SAVE: 3, AutomaticStopAction.SHUTDOWN: 4}
SNAPSHOT_TYPES = {SnapshotType.DISABLED: 2, SnapshotType.PRODUCTION: 3, SnapshotType.PRODUCTION_ONLY: 4, SnapshotType.STANDARD: 5}
BOOT_DEVICES = {BootDevice.FLOPPY: 0, BootDevice.CD: 1, BootDevice.IDE: 2, BootDevice.NETWORK: 3, BootDevice.SCSI: 4}

# The guest's SMBIOS strings: CIM property -> schema field.
SMBIOS_TEXTS = {
    "BIOSSerialNumber": "bios_serial_number",
    "BaseBoardSerialNumber": "baseboard_serial_number",
    "ChassisSerialNumber": "chassis_serial_number",
    "ChassisAssetTag": "chassis_asset_tag",
}

# Schema field -> the CIM property a client wrote, for error messages.
FIELD_PROPERTIES = {
    "name": "ElementName",
    "notes": "Notes",
    "generation": "VirtualSystemSubType",
    "automatic_start_action": "AutomaticStartupAction",
    "automatic_start_delay_seconds": "AutomaticStartupActionDelay",
    "automatic_stop_action": "AutomaticShutdownAction",
    "snapshot_type": "UserSnapshotType",
    "config_version": "Version",
    "virtual_numa_enabled": "VirtualNumaEnabled",
    "secure_boot_enabled": "SecureBootEnabled",
    "secure_boot_template": "SecureBootTemplateId",
    "boot_order": "BootOrder",
    **{field: prop for prop, field in SMBIOS_TEXTS.items()},
    **{field: prop for prop, field in DATA_ROOTS.items()},
}


def default_root(virt: Virtualization) -> str:
    """The host's folder for VM files, shown where a VM has none of its own."""
    roots = virt.backend.host_info().storage_roots
    return roots[-1] if roots else ""


class _KeptSettings:
    """The VMs' realized settings of one enumeration, built when nothing is kept."""

    def __init__(self, virt: Virtualization, properties: PropertySet) -> None:
        self.virt = virt
        self.properties = properties

    def build(self, vm_id: UUID, key: object) -> CIMInstance | None:
        return fresh(self.virt, vm_id, lambda vm: self.virt.renderer.instance(VSSD, vssd_values(self.virt, vm), self.properties))

    def live(self, vm_id: UUID) -> dict[str, Any]:
        return {}


def read_vssd(value: Any, parameter: str) -> PropertyBag:
    """A method's embedded VSSD (SystemSettings), refused if of another class."""
    return read_settings(value, parameter, VSSD, "CIM_VirtualSystemSettingData")


def running_from(virt: Virtualization, vm_id: UUID) -> CIMInstanceName | None:
    """The snapshot the VM runs on from, which Hyper-V's realized VSSD names
    as its Parent; None for a VM with none (or a backend without snapshots)."""
    backend = virt.backend
    if not isinstance(backend, SnapshotBackend):
        return None
    try:
        current = backend.snapshot_position(vm_id).current_id
    except NotFoundError:
        return None
    return None if current is None else virt.setting_path(VSSD, ids.vssd_id(current))


def vssd_as_shown(virt: Virtualization, vm: VirtualMachine) -> dict[str, Any]:
    """The VM's VSSD as a client reads it, Parent included: what a settings
    change the client sends back is compared with."""
    values = vssd_values(virt, vm)
    parent = running_from(virt, vm.id)
    return values if parent is None else {**values, "Parent": virt.text(parent)}


def vssd_values(virt: Virtualization, vm: VirtualMachine) -> dict[str, Any]:
    guid = ids.guid(vm.id)
    root = default_root(virt)
    return {
        "InstanceID": ids.vssd_id(vm.id),
        "Caption": "Virtual Machine Settings",
        "Description": "Active settings for the virtual machine.",
        "ElementName": vm.name,
        "VirtualSystemIdentifier": guid,
        "VirtualSystemType": REALIZED,
        "VirtualSystemSubType": SUBTYPE.format(vm.generation),
        "ConfigurationID": guid,
        "Notes": list(vm.notes) or [""],
        **data_root_values(vm, root),
        # Hyper-V's layout (<root>/Virtual Machines/<GUID>.vmcx), in the host's separators.
        "ConfigurationFile": str(Path(vm.configuration_data_root or root) / "Virtual Machines" / f"{guid}.vmcx") if root else None,
        "AutomaticStartupAction": START_ACTIONS[vm.automatic_start_action],
        "AutomaticStartupActionDelay": timedelta(seconds=vm.automatic_start_delay_seconds),
        "AutomaticStartupActionSequenceNumber": 0,
        "AutomaticShutdownAction": STOP_ACTIONS[vm.automatic_stop_action],
        "AutomaticRecoveryAction": 3,
        "UserSnapshotType": SNAPSHOT_TYPES[vm.snapshot_type],
        "Version": vm.config_version,
        "VirtualNumaEnabled": vm.virtual_numa_enabled,
        "SecureBootEnabled": vm.secure_boot_enabled if vm.generation == 2 else None,
        "SecureBootTemplateId": template_id(vm.secure_boot_template) if vm.generation == 2 else None,
        "BootOrder": [BOOT_DEVICES[d] for d in vm.boot_order] if vm.generation == 1 else None,
        "BootSourceOrder": boot_source_order(virt, vm),
        "IsSaved": vm.power_state is PowerState.SAVED,
        "Architecture": "x64",
        **{prop: getattr(vm, field) for prop, field in SMBIOS_TEXTS.items()},
        "BIOSGUID": "{" + guid + "}",
        "BIOSNumLock": False,
        "AllowFullSCSICommandSet": False,
        "IncrementalBackupEnabled": False,
        "AutomaticSnapshotsEnabled": False,
        "IsAutomaticSnapshot": False,
        "EnhancedSessionTransportType": 0,
    }


def settings_from_bag(
    bag: PropertyBag, base: SystemSettings | None, roots: Sequence[Path] = (), shown: Mapping[str, Any] | None = None
) -> SystemSettings:
    """Apply the properties the client set onto `base` (or the defaults);
    data roots it changed from `shown` (the VSSD as the client saw it)
    must lie in `roots` (the configured storage roots)."""
    values: dict[str, Any] = base.model_dump() if base is not None else {"name": "New Virtual Machine"}
    read_data_roots(bag, values, roots, shown or {})
    if bag.has("ElementName"):
        values["name"] = bag.text("ElementName")
    notes = bag.strings("Notes")
    if notes is not None:
        values["notes"] = tuple(notes)
    subtype = bag.text("VirtualSystemSubType")
    if subtype:
        if not subtype.lower().startswith("microsoft:hyper-v:subtype:") or subtype[-1] not in "12":
            raise invalid_parameter("VirtualSystemSubType", f"{subtype!r} is not Microsoft:Hyper-V:SubType:1 or :2")
        values["generation"] = int(subtype[-1])
    _mapped(bag, values, "AutomaticStartupAction", "automatic_start_action", START_ACTIONS)
    _mapped(bag, values, "AutomaticShutdownAction", "automatic_stop_action", STOP_ACTIONS)
    _mapped(bag, values, "UserSnapshotType", "snapshot_type", SNAPSHOT_TYPES)
    delay = bag.text("AutomaticStartupActionDelay")
    if delay:
        values["automatic_start_delay_seconds"] = _interval_seconds(delay)
    for prop, field in SMBIOS_TEXTS.items():
        text = bag.text(prop)
        if text is not None:
            values[field] = text
    if bag.has("Version"):
        values["config_version"] = bag.text("Version")
    for prop, name in (("VirtualNumaEnabled", "virtual_numa_enabled"), ("SecureBootEnabled", "secure_boot_enabled")):
        flag = bag.boolean(prop)
        if flag is not None:
            values[name] = flag
    # Generation 2 boots from devices: its BootOrder stays unread, so one sent is refused as not honoured.
    order = bag.integers("BootOrder") if values.get("generation") == 1 else None
    if order:
        devices = {code: device for device, code in BOOT_DEVICES.items()}
        try:
            values["boot_order"] = tuple(devices[code] for code in order)
        except KeyError as missing:
            raise invalid_parameter("BootOrder", f"{missing.args[0]} is not a boot device (0-4)") from None
    if values.get("generation") == 2:
        read_template(bag, values)  # unread on generation 1: a template there is refused as not honoured
    if values.get("generation") == 1 and bag.boolean("SecureBootEnabled") is not True:
        values["secure_boot_enabled"] = False  # a client's True is refused below: gen 1 has no secure boot
    try:
        return SystemSettings.model_validate({k: v for k, v in values.items() if k in SystemSettings.model_fields})
    except ValidationError as error:
        raise named_failure(error, FIELD_PROPERTIES) from None


def named_failure(error: ValidationError, properties: dict[str, str]) -> MethodFailure:
    """32773 naming the CIM property behind the schema field at fault."""
    problems = describe_validation_error(error)
    text = "; ".join(f"{properties.get(field.split('.')[0].split('[')[0], field)}: {message}" for field, message in problems)
    return MethodFailure(INVALID_PARAMETER, text)


def _mapped(bag: PropertyBag, values: dict[str, Any], prop: str, field: str, table: dict) -> None:
    code = bag.integer(prop)
    if code is None:
        return
    reverse = {number: word for word, number in table.items()}
    if code not in reverse:
        raise invalid_parameter(prop, f"{code} is not one of {sorted(reverse)}")
    values[field] = reverse[code]


def _interval_seconds(text: str) -> int:
    """`ddddddddHHMMSS.mmmmmm:000` → seconds."""
    try:
        days, hours, minutes, seconds = int(text[0:8]), int(text[8:10]), int(text[10:12]), int(text[12:14])
    except ValueError:
        raise invalid_parameter("AutomaticStartupActionDelay", f"{text!r} is not a CIM interval") from None
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


class SystemSettingsProvider(InstanceProvider):
    classnames = (VSSD,)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        vms = self.virt.vms(pushdown, name="ElementName")
        yield from self.virt.present(vms, lambda vm: [self.virt.renderer.instance(VSSD, vssd_values(self.virt, vm), properties)])
        for template in SecureBootTemplate:
            values = template_values(template)
            if pushdown is None or all(pushdown.admits(name, values[name]) for name in ("InstanceID", "ElementName", "VirtualSystemType")):
                yield self.virt.renderer.instance(VSSD, values, properties)

    def enumerate_keepable(self, ctx: OperationContext, classname: str, properties: PropertySet) -> Iterator[CIMInstance | Keepables]:
        # One realized settings per VM, from the kept list of VM ids; the
        # snapshots' settings are added from their own list by the wrapper.
        owners = self.virt.vm_ids()
        yield Keepables(owners, [VSSD] * len(owners), _KeptSettings(self.virt, properties))
        for template in SecureBootTemplate:
            yield self.virt.renderer.instance(VSSD, template_values(template), properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        instance_id = next((v for k, v in path.keybindings.items() if k.lower() == "instanceid"), None)
        template = find_template(instance_id) if isinstance(instance_id, str) else None
        if template is not None:
            return self.virt.renderer.instance(VSSD, template_values(template), properties)
        ref = ids.parse_setting_id(instance_id) if isinstance(instance_id, str) else None
        vm = self.virt.find_vm(ref.vm_id) if ref is not None and not ref.parts else None
        if vm is None:
            raise instance_not_found(path)
        with self.virt.gone_is_not_found(path):
            return self.virt.renderer.instance(VSSD, vssd_values(self.virt, vm), properties)
