"""From a client's embedded instances to a switch: the settings
(Msvm_VirtualEthernetSwitchSettingData) and the switch's own ports
(Msvm_EthernetPortAllocationSettingData whose HostResource is a host
adapter — external — or the host itself — internal). Every bad value is
32773 naming the property; settings this host cannot honour are refused."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.embedded import PropertyBag
from cimprovider.providers.virtualization.errors import invalid_parameter
from cimprovider.providers.virtualization.model import CS, Virtualization
from cimprovider.providers.virtualization.network import identity
from cimprovider.providers.virtualization.network.ports import EXTERNAL, INTERNAL, host_adapters
from cimprovider.providers.virtualization.systems.settings import named_failure
from cimprovider.schemas.host import VirtualSwitch

_FIELDS = {"name": "ElementName", "notes": "Notes", "bandwidth_reservation_mode": "BandwidthReservationMode",
           "external_adapter": "HostResource"}
# Switch settings this host shows with their default and cannot change.
_UNMODELLED_FLAGS = ("IOVPreferred", "TeamingEnabled", "PacketDirectEnabled")


def switch_from_settings(bag: PropertyBag, current: VirtualSwitch | None) -> VirtualSwitch:
    values: dict[str, Any] = current.model_dump() if current else {"external_adapter": None, "host_connected": False}
    name = bag.text("ElementName")
    if name is not None:
        values["name"] = name
    elif current is None:
        raise invalid_parameter("ElementName", "a new virtual switch needs a name")
    notes = bag.strings("Notes")
    if notes is not None:
        values["notes"] = "\n".join(notes)
    mode = bag.integer("BandwidthReservationMode")
    if mode is not None:
        values["bandwidth_reservation_mode"] = mode
    for flag in _UNMODELLED_FLAGS:
        if bag.boolean(flag):
            raise invalid_parameter(flag, "True cannot be honoured by this host")
    if bag.strings("ExtensionOrder"):
        raise invalid_parameter("ExtensionOrder", "no switch extensions are installed on this host")
    return validated_switch(values)


def validated_switch(values: dict[str, Any]) -> VirtualSwitch:
    try:
        return VirtualSwitch.model_validate(values)
    except ValidationError as error:
        raise named_failure(error, _FIELDS) from None


def port_role(virt: Virtualization, bag: PropertyBag) -> tuple[str, str | None]:
    """(EXTERNAL, adapter name) or (INTERNAL, None) from a port allocation's HostResource."""
    hosts = bag.strings("HostResource") or []
    if not hosts or not hosts[0]:
        raise invalid_parameter("HostResource", "a switch port needs a host adapter (external) or the host (internal)")
    parsed = ids.parse_path_text(hosts[0])
    if parsed is None:
        raise invalid_parameter("HostResource", f"{hosts[0]!r} is not an object path")
    classname, keys = parsed
    if classname.lower() == CS.lower() and keys.get("name", "").lower() == virt.host_name.lower():
        return INTERNAL, None
    if classname.lower() == identity.EXTERNAL_PORT.lower():
        return EXTERNAL, adapter_named(virt, keys)
    raise invalid_parameter("HostResource", f"{hosts[0]!r} is neither a host adapter (Msvm_ExternalEthernetPort) nor the host")


def adapter_named(virt: Virtualization, keys: dict[str, str]) -> str:
    device = keys.get("deviceid", "")
    for adapter in host_adapters(virt):
        wanted = f"{ids.PREFIX}{ids.guid(identity.adapter_guid(adapter.name))}"
        if device.lower() in (wanted.lower(), adapter.name.lower()):
            return adapter.name
    raise invalid_parameter("HostResource", f"the host has no network adapter {device!r}")


def with_port(switch: VirtualSwitch, role: str, adapter: str | None) -> VirtualSwitch:
    if role == EXTERNAL:
        if switch.external_adapter is not None and switch.external_adapter != adapter:
            raise invalid_parameter("HostResource", f"virtual switch '{switch.name}' is already bound to {switch.external_adapter}")
        return validated_switch({**switch.model_dump(), "external_adapter": adapter})
    if switch.host_connected:
        raise invalid_parameter("HostResource", f"virtual switch '{switch.name}' already has an internal port")
    return validated_switch({**switch.model_dump(), "host_connected": True})


def without_port(switch: VirtualSwitch, role: str) -> VirtualSwitch:
    if role == EXTERNAL:
        return validated_switch({**switch.model_dump(), "external_adapter": None})
    return validated_switch({**switch.model_dump(), "host_connected": False})
