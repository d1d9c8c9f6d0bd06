"""Hyper-V's identifiers: InstanceIDs of setting data, DeviceIDs of
devices, the text form of object paths stored in string properties
(Parent, HostResource), and the way back from each to a VM and a device.

Forms (msvm-v2.md §2): `Microsoft:<VMGUID>` for the VSSD, then a suffix per
resource: memory `\\4764334d-…`, processor `\\b637f346-…\\0`, IDE controller
`\\83F8638B-…\\<n>`, SCSI controller `\\<guid>\\0`, drive
`<controller>\\<slot>\\D` and its image `…\\L`, NIC `\\<guid>`, its switch
connection `…\\C`. Templates: `Microsoft:Definition\\<GUID>\\Default`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

from cimprovider.schemas.devices import MEMORY_ID, PROCESSOR_ID, Controller, ControllerType

PREFIX = "Microsoft:"
IDE_CONTROLLER_GUID = UUID("83F8638B-8DCA-4152-9EDA-2CA8B33039B4")
DEFINITION = "Definition"


def guid(value: UUID) -> str:
    """Hyper-V writes VM and device GUIDs in upper case."""
    return str(value).upper()


def parse_guid(text: str) -> UUID | None:
    try:
        return UUID(text.strip().strip("{}"))
    except (ValueError, AttributeError):
        return None


def vssd_id(vm_id: UUID) -> str:
    return f"{PREFIX}{guid(vm_id)}"


def memory_id(vm_id: UUID) -> str:
    return f"{vssd_id(vm_id)}\\{MEMORY_ID}"


def processor_id(vm_id: UUID) -> str:
    return f"{vssd_id(vm_id)}\\{PROCESSOR_ID}\\0"


def ide_controller_id(vm_id: UUID, number: int) -> str:
    return f"{vssd_id(vm_id)}\\{guid(IDE_CONTROLLER_GUID)}\\{number}"


def scsi_controller_id(vm_id: UUID, controller_id: UUID) -> str:
    return f"{vssd_id(vm_id)}\\{guid(controller_id)}\\0"


def controller_instance_id(vm_id: UUID, controller: Controller) -> str:
    if controller.controller_type is ControllerType.IDE:
        return ide_controller_id(vm_id, controller.number or 0)
    return scsi_controller_id(vm_id, controller.id)


def drive_id(controller_instance_id: str, slot: int) -> str:
    return f"{controller_instance_id}\\{slot}\\D"


def media_id(drive_instance_id: str) -> str:
    return drive_instance_id[:-1] + "L"


def device_setting_id(vm_id: UUID, device_id: UUID) -> str:
    """NICs and serial ports: the VM's ID and the device GUID."""
    return f"{vssd_id(vm_id)}\\{guid(device_id)}"


def connection_id(nic_instance_id: str) -> str:
    return f"{nic_instance_id}\\C"


@dataclass(frozen=True, slots=True)
class SettingRef:
    """A per-VM InstanceID taken apart: the VM and the suffix parts."""

    vm_id: UUID
    parts: tuple[str, ...]


def parse_setting_id(instance_id: str) -> SettingRef | None:
    """`Microsoft:<VMGUID>[\\…]` → SettingRef; None for anything else
    (templates, other hosts' formats)."""
    if not isinstance(instance_id, str) or not instance_id.lower().startswith(PREFIX.lower()):
        return None
    parts = [p for p in instance_id[len(PREFIX):].replace("/", "\\").split("\\") if p != ""]
    if not parts:
        return None
    vm_id = parse_guid(parts[0])
    if vm_id is None:
        return None
    return SettingRef(vm_id, tuple(parts[1:]))


# --- templates -------------------------------------------------------------

TEMPLATE_ROLES = ("Default", "Minimum", "Maximum", "Increment")


def template_id(subtype_guid: UUID, role: str) -> str:
    return f"{PREFIX}{DEFINITION}\\{guid(subtype_guid)}\\{role}"


def parse_template_id(instance_id: str) -> tuple[UUID, str] | None:
    match = re.match(r"^Microsoft:Definition\\+([0-9A-Fa-f-]{36})\\+(\w+)$", instance_id or "", re.IGNORECASE)
    if not match:
        return None
    role = next((r for r in TEMPLATE_ROLES if r.lower() == match.group(2).lower()), None)
    return (UUID(match.group(1)), role) if role else None


# --- devices (present while a VM runs) -------------------------------------


def device_id(device_guid: UUID, index: int | None = None) -> str:
    text = f"{PREFIX}{guid(device_guid)}"
    return text if index is None else f"{text}\\{index}"


def parse_device_id(text: str) -> tuple[UUID, int | None] | None:
    if not isinstance(text, str) or not text.lower().startswith(PREFIX.lower()):
        return None
    parts = text[len(PREFIX):].split("\\")
    found = parse_guid(parts[0])
    if found is None:
        return None
    index = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    return found, index


# --- object paths as text --------------------------------------------------


def path_text(host: str, namespace: str, classname: str, keys: dict[str, object]) -> str:
    """`\\\\HOST\\root\\virtualization\\v2:Class.K1="v",K2="v"`: keys in
    alphabetical order, backslashes and quotes in values escaped, as WMI
    writes __PATH and as Hyper-V fills Parent and HostResource."""
    rendered = []
    for name in sorted(keys, key=str.lower):
        value = keys[name]
        if isinstance(value, str):
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            rendered.append(f'{name}="{escaped}"')
        else:
            rendered.append(f"{name}={value}")
    return f"\\\\{host}\\{namespace.replace('/', chr(92))}:{classname}.{','.join(rendered)}"


_CLASS_AND_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\.(?=[A-Za-z_][A-Za-z0-9_]*\s*=)")
_KEY_VALUE = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:"((?:\\"|[^"])*)"|([^,]*))\s*,?')


def parse_path_text(text: str) -> tuple[str, dict[str, str]] | None:
    """The class and keys of a path held in a string, leniently: WMI's
    `\\\\HOST\\ns:Class.K="v"` with escaped or raw backslashes (os-win
    embeds raw paths), a WBEM URI, or a bare `Class.K="v"`. Key names come
    back lower-cased."""
    if not isinstance(text, str):
        return None
    match = _CLASS_AND_KEY.search(text)
    if not match:
        return None
    keys: dict[str, str] = {}
    position = match.end()
    while position < len(text):
        pair = _KEY_VALUE.match(text, position)
        if not pair or pair.end() == position:
            break
        raw = pair.group(2) if pair.group(2) is not None else (pair.group(3) or "").strip()
        keys[pair.group(1).lower()] = raw.replace("\\\\", "\\").replace('\\"', '"')
        position = pair.end()
    if text[position:].strip():
        return None  # something follows the keys: not a path we may guess at
    return match.group(1), keys
