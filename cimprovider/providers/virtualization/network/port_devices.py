"""The devices and endpoints of virtual networking: Msvm_EthernetSwitchPort
(one per port of every switch), the host's Msvm_InternalEthernetPort (one
per switch the host is on) and Msvm_ExternalEthernetPort (the host's
adapters), their Msvm_LANEndpoints, and Msvm_EthernetSwitchExtension, of
which this host installs none."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.providers.base import InstanceProvider, OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.model import CS, SWITCH, Virtualization
from cimprovider.providers.virtualization.network import identity
from cimprovider.providers.virtualization.network.port_index import PortIndex
from cimprovider.providers.virtualization.network.ports import (
    EXTERNAL,
    INTERNAL,
    SwitchPort,
    endpoint_values,
    every_host_port,
    every_port,
    external_port_values,
    find_switch,
    host_adapters,
    host_ports,
    internal_port_values,
    ports_of,
    switch_port_values,
    vm_ports,
)
from cimprovider.providers.virtualization.network.switches import key_of

Values = dict[str, Any]


class SwitchPortProvider(InstanceProvider):
    classnames = (identity.SWITCH_PORT,)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt
        self.index = PortIndex(virt)

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for port in every_port(self.virt):
            yield self.virt.renderer.instance(identity.SWITCH_PORT, switch_port_values(port), properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        """One port: found among its switch's own ports and those of the VM
        the index names (every VM's only when it is not there), only it
        rendered (an association from a switch asks for each of its ports in turn)."""
        switch = find_switch(self.virt, ids.parse_guid(str(key_of(path, "SystemName") or "")))
        device = str(key_of(path, "DeviceID") or "")
        if switch is None or not device.lower().startswith(ids.PREFIX.lower()):
            raise instance_not_found(path)
        guid = ids.parse_guid(device[len(ids.PREFIX):])
        owner = self.index.vm_of(guid) if guid is not None else None
        near = self.virt.find_vm(owner) if owner is not None else None
        first = host_ports(switch) + (list(vm_ports(near, {switch.id: switch})) if near is not None else [])
        port = _port(first, guid) or _port(ports_of(self.virt, switch), guid)
        if port is None:
            raise instance_not_found(path)
        return self.virt.renderer.instance(identity.SWITCH_PORT, switch_port_values(port), properties)


def _port(ports: list[SwitchPort], guid: UUID | None) -> SwitchPort | None:
    return next((port for port in ports if port.guid == guid), None)


class HostPortProvider(InstanceProvider):
    classnames = (identity.INTERNAL_PORT, identity.EXTERNAL_PORT)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        render = self.virt.renderer.instance
        switches = self.virt.backend.list_switches()
        if classname.lower() == identity.INTERNAL_PORT.lower():
            for switch in switches:
                if switch.host_connected:
                    yield render(identity.INTERNAL_PORT, internal_port_values(self.virt, switch), properties)
            return
        for adapter in host_adapters(self.virt):
            bound = next((s for s in switches if s.external_adapter == adapter.name), None)
            yield render(identity.EXTERNAL_PORT, external_port_values(self.virt, adapter, bound), properties)


def endpoint_pairs(virt: Virtualization) -> Iterator[tuple[CIMInstanceName, Values]]:
    """(device path, endpoint values) for every endpoint: each host adapter's
    and internal port's, and each switch port that reaches the host."""
    for adapter in host_adapters(virt):
        device = identity.external_port_path(virt, adapter.name)
        path = identity.endpoint_path(virt, CS, virt.host_name, identity.adapter_guid(adapter.name))
        yield device, endpoint_values(path, adapter.name, adapter.mac_address, adapter.connected)
    for port in every_host_port(virt):
        if port.role == INTERNAL:
            device = identity.internal_port_path(virt, port.switch.id)
            path = identity.endpoint_path(virt, CS, virt.host_name, port.guid)
            yield device, endpoint_values(path, port.switch.name, identity.internal_mac(port.switch.id), port.switch.active)
        yield switch_side(virt, port)


def switch_side(virt: Virtualization, port: SwitchPort) -> tuple[CIMInstanceName, Values]:
    device = identity.switch_port_path(virt, port.switch, port.guid)
    path = identity.endpoint_path(virt, SWITCH, identity.switch_name(port.switch.id), port.guid)
    return device, endpoint_values(path, port.name, None, port.switch.active)


def host_side_endpoint(virt: Virtualization, port: SwitchPort) -> CIMInstanceName:
    """The endpoint a switch's external or internal port connects to."""
    if port.role == EXTERNAL:
        return identity.endpoint_path(virt, CS, virt.host_name, identity.adapter_guid(port.switch.external_adapter or ""))
    return identity.endpoint_path(virt, CS, virt.host_name, port.guid)


class EndpointProvider(InstanceProvider):
    classnames = (identity.LAN_ENDPOINT,)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for _device, values in endpoint_pairs(self.virt):
            yield self.virt.renderer.instance(identity.LAN_ENDPOINT, values, properties)


class ExtensionProvider(InstanceProvider):
    """No switch extension is installed; the class answers, empty."""

    classnames = (identity.EXTENSION,)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        return iter(())
