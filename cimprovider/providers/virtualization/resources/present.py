"""A device of a running VM as the model renders it: its class, values and
the setting that defines it; the values every device shares; and the way
back from a device's path to its VM. Below both the hardware devices and
the integration components, which each build on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pywbem import CIMInstanceName

from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.model import CS
from cimprovider.schemas.vm import VirtualMachine


@dataclass(frozen=True, slots=True)
class Present:
    """A device instance to render: its class, values and the setting
    (InstanceID) that defines it, for Msvm_SettingsDefineState."""

    classname: str
    values: dict[str, Any]
    setting_id: str | None = None
    setting_class: str | None = None


def base_values(classname: str, vm: VirtualMachine, device_id: str, name: str) -> dict[str, Any]:
    return {
        "CreationClassName": classname,
        "DeviceID": device_id,
        "SystemCreationClassName": CS,
        "SystemName": ids.guid(vm.id),
        "ElementName": name,
        "Caption": name,
        "EnabledState": 2,
        "RequestedState": 12,
        "EnabledDefault": 2,
        "HealthState": 5,
        "OperationalStatus": [2],
    }


def device_vm(path: CIMInstanceName) -> UUID | None:
    name = next((v for k, v in path.keybindings.items() if k.lower() == "systemname"), None)
    return ids.parse_guid(name) if isinstance(name, str) else None
