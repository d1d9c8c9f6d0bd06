"""Msvm_VirtualEthernetSwitch (one per switch, Name = its GUID; names may
repeat), its Msvm_VirtualEthernetSwitchSettingData (with a `\\Default`
template for DefineSystem) and the allocations of the switch's own ports,
served beside the VMs' connections in Msvm_EthernetPortAllocationSettingData."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid5

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.providers.base import InstanceProvider, Keepable, Keepables, OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids, kinds
from cimprovider.providers.virtualization.model import SWITCH, Virtualization
from cimprovider.providers.virtualization.network import identity
from cimprovider.providers.virtualization.network.ports import EXTERNAL, SwitchPort, host_ports
from cimprovider.providers.virtualization.resources.resources import common
from cimprovider.schemas.host import SwitchType, VirtualSwitch

Values = dict[str, Any]
SETTINGS_TEMPLATE_ID = ids.template_id(uuid5(UUID("0c5b5f3e-6f0e-4f61-9a41-2d4f0e0b7a21"), "switch settings"), "Default")


def key_of(path: CIMInstanceName, name: str) -> Any:
    return next((v for k, v in path.keybindings.items() if k.lower() == name.lower()), None)


def switch_values(switch: VirtualSwitch) -> Values:
    return {
        "CreationClassName": SWITCH,
        "Name": identity.switch_name(switch.id),
        "ElementName": switch.name,
        "Caption": "Virtual Switch",
        "Description": "Microsoft Virtual Switch",
        "EnabledState": 2 if switch.active else 3,
        "RequestedState": 12,
        "EnabledDefault": 2,
        "HealthState": 5,
        "OperationalStatus": [2],
        "StatusDescriptions": ["OK"],
        "Dedicated": [0],
        "MaxVMQOffloads": 0,
        "MaxChimneyOffloads": 0,
    }


def switch_settings_values(switch: VirtualSwitch | None) -> Values:
    """The switch's settings; None gives the template."""
    instance_id = identity.switch_settings_id(switch.id) if switch else SETTINGS_TEMPLATE_ID
    return {
        "InstanceID": instance_id,
        "ElementName": switch.name if switch else "",
        "Caption": "Virtual Ethernet Switch Settings" if switch else "Virtual Ethernet Switch Settings Default",
        "Description": "Settings of a Microsoft virtual switch.",
        "Notes": [switch.notes] if switch and switch.notes else [],
        "VirtualSystemIdentifier": identity.switch_name(switch.id) if switch else None,
        "VirtualSystemType": "Microsoft:Hyper-V:Switch",
        "IOVPreferred": False,
        "ExtensionOrder": [],
        "BandwidthReservationMode": switch.bandwidth_reservation_mode if switch else 2,
        "TeamingEnabled": False,
        "PacketDirectEnabled": False,
        "VLANConnection": [],
        "AssociatedResourcePool": [],
        "MaxNumMACAddress": 0,
    }


def host_port_allocation_values(virt: Virtualization, port: SwitchPort) -> Values:
    values = common(kinds.CONNECTION, port.allocation_id, port.name)
    if port.role == EXTERNAL:
        host = identity.external_port_path(virt, port.switch.external_adapter or "")
    else:
        host = virt.host_path()
    values.update(
        Parent=None,
        HostResource=[virt.text(host)],
        Address=identity.internal_mac(port.switch.id) if port.role != EXTERNAL else None,
        EnabledState=2,
        RequiredFeatures=[],
        RequiredFeatureHints=[],
    )
    return values


def switch_of_path(virt: Virtualization, path: CIMInstanceName) -> VirtualSwitch | None:
    name = key_of(path, "Name")
    switch_id = ids.parse_guid(name) if isinstance(name, str) else None
    return next((s for s in virt.backend.list_switches() if s.id == switch_id), None) if switch_id else None


class SwitchProvider(InstanceProvider):
    classnames = (SWITCH,)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for switch in self.virt.backend.list_switches():
            yield self.virt.renderer.instance(SWITCH, switch_values(switch), properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        switch = switch_of_path(self.virt, path)
        if switch is None:
            raise instance_not_found(path)
        return self.virt.renderer.instance(SWITCH, switch_values(switch), properties)


def switch_of_settings(virt: Virtualization, instance_id: Any) -> VirtualSwitch | None:
    parsed = identity.parse_switch_settings_id(instance_id) if isinstance(instance_id, str) else None
    if parsed is None or parsed[1]:
        return None
    return next((s for s in virt.backend.list_switches() if s.id == parsed[0]), None)


class SwitchSettingsProvider(InstanceProvider):
    classnames = (identity.SWITCH_SETTINGS,)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        render = self.virt.renderer.instance
        for switch in self.virt.backend.list_switches():
            yield render(identity.SWITCH_SETTINGS, switch_settings_values(switch), properties)
        yield render(identity.SWITCH_SETTINGS, switch_settings_values(None), properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        instance_id = key_of(path, "InstanceID")
        if isinstance(instance_id, str) and instance_id.lower() == SETTINGS_TEMPLATE_ID.lower():
            return self.virt.renderer.instance(identity.SWITCH_SETTINGS, switch_settings_values(None), properties)
        switch = switch_of_settings(self.virt, instance_id)
        if switch is None:
            raise instance_not_found(path)
        return self.virt.renderer.instance(identity.SWITCH_SETTINGS, switch_settings_values(switch), properties)


def find_host_port(virt: Virtualization, instance_id: str) -> SwitchPort | None:
    parsed = identity.parse_switch_settings_id(instance_id)
    if parsed is None or len(parsed[1]) != 1:
        return None
    switch = next((s for s in virt.backend.list_switches() if s.id == parsed[0]), None)
    if switch is None:
        return None
    return next((p for p in host_ports(switch) if p.allocation_id.lower() == instance_id.lower()), None)


class AllocationsWithSwitchPorts(InstanceProvider):
    """The per-VM setting classes the wrapped provider serves, and in
    Msvm_EthernetPortAllocationSettingData also the switches' own ports."""

    def __init__(self, virt: Virtualization, inner: InstanceProvider) -> None:
        self.virt = virt
        self.inner = inner
        self.classnames = inner.classnames  # type: ignore[misc]

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        yield from self.inner.enumerate_instances(ctx, classname, properties, pushdown)
        if classname.lower() != identity.EPASD.lower():
            return
        for switch in self.virt.backend.list_switches():
            for port in host_ports(switch):
                if pushdown is None or pushdown.admits("InstanceID", port.allocation_id):
                    yield self.virt.renderer.instance(identity.EPASD, host_port_allocation_values(self.virt, port), properties)

    def enumerate_keepable(self, ctx: OperationContext, classname: str, properties: PropertySet) -> Iterator[CIMInstance | Keepable | Keepables] | None:
        inner = self.inner.enumerate_keepable(ctx, classname, properties)
        return None if inner is None else self._keepable(inner, classname, properties)

    def _keepable(self, inner: Iterator[CIMInstance | Keepable | Keepables], classname: str, properties: PropertySet) -> Iterator[CIMInstance | Keepable | Keepables]:
        # The switches' own ports change with switch events, which forget
        # everything kept; they are few and built every time.
        yield from inner
        if classname.lower() == identity.EPASD.lower():
            for switch in self.virt.backend.list_switches():
                for port in host_ports(switch):
                    yield self.virt.renderer.instance(identity.EPASD, host_port_allocation_values(self.virt, port), properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        instance_id = key_of(path, "InstanceID")
        if path.classname.lower() == identity.EPASD.lower() and isinstance(instance_id, str):
            port = find_host_port(self.virt, instance_id)
            if port is not None:
                return self.virt.renderer.instance(identity.EPASD, host_port_allocation_values(self.virt, port), properties)
        return self.inner.get_instance(ctx, path, properties)


def is_private(switch: VirtualSwitch) -> bool:
    return switch.switch_type is SwitchType.PRIVATE
