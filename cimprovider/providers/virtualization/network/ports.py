"""A switch's ports, read from the backend: its own (external, bound to a
host adapter; internal, the host's) and one per VM adapter connected to
it. Each port has its allocation (the EPASD a client sees) and an
Msvm_EthernetSwitchPort whose ElementName is the allocation's and whose
SystemName is the switch's Name."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cimprovider.backends import NetworkBackend
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.model import CS, SWITCH, Virtualization
from cimprovider.providers.virtualization.network import identity
from cimprovider.schemas.devices import NetworkAdapter
from cimprovider.schemas.host import VirtualSwitch
from cimprovider.schemas.network import HostAdapter
from cimprovider.schemas.vm import VirtualMachine

Values = dict[str, Any]
EXTERNAL, INTERNAL, VM = "external", "internal", "vm"


@dataclass(frozen=True, slots=True)
class SwitchPort:
    switch: VirtualSwitch
    role: str  # EXTERNAL, INTERNAL or VM
    guid: UUID
    allocation_id: str
    name: str
    vm: VirtualMachine | None = None
    nic: NetworkAdapter | None = None

    @property
    def enabled(self) -> bool:
        return self.nic.connected if self.nic is not None else True


def vm_connection_id(vm_id: UUID, nic_id: UUID) -> str:
    return ids.connection_id(ids.device_setting_id(vm_id, nic_id))


def host_ports(switch: VirtualSwitch) -> list[SwitchPort]:
    found = []
    if switch.external_adapter is not None:
        found.append(SwitchPort(switch, EXTERNAL, identity.host_port_guid(switch.id, EXTERNAL),
                                identity.host_port_allocation_id(switch.id, EXTERNAL), switch.external_adapter))
    if switch.host_connected:
        found.append(SwitchPort(switch, INTERNAL, identity.host_port_guid(switch.id, INTERNAL),
                                identity.host_port_allocation_id(switch.id, INTERNAL), switch.name))
    return found


def vm_ports(vm: VirtualMachine, switches: dict[UUID, VirtualSwitch]) -> Iterator[SwitchPort]:
    for nic in vm.network_adapters:
        switch = switches.get(nic.switch_id) if nic.switch_id is not None else None
        if switch is not None:
            yield SwitchPort(switch, VM, identity.vm_port_guid(vm.id, nic.id), vm_connection_id(vm.id, nic.id), nic.name, vm, nic)


def switches_by_id(virt: Virtualization) -> dict[UUID, VirtualSwitch]:
    return {switch.id: switch for switch in virt.backend.list_switches()}


def ports_of(virt: Virtualization, switch: VirtualSwitch) -> list[SwitchPort]:
    found = host_ports(switch)
    table = {switch.id: switch}
    for vm in virt.backend.list_vms():
        found.extend(vm_ports(vm, table))
    return found


def every_port(virt: Virtualization, near: VirtualMachine | None = None) -> list[SwitchPort]:
    """Every switch's own ports and every VM's; with `near`, that VM's only
    (what one of its objects can be paired with), without listing the VMs."""
    table = switches_by_id(virt)
    found = [port for switch in table.values() for port in host_ports(switch)]
    for vm in virt.backend.list_vms() if near is None else [near]:
        found.extend(vm_ports(vm, table))
    return found


def every_host_port(virt: Virtualization) -> list[SwitchPort]:
    """The switches' own ports (external, internal): no VM's."""
    return [port for switch in virt.backend.list_switches() for port in host_ports(switch)]


def vm_named_by(virt: Virtualization, instance_id: object) -> VirtualMachine | None:
    """The VM whose objects an InstanceID (`Microsoft:<VM GUID>\\…`: a port
    allocation, a feature of it) belongs to, or None (a switch's, or none)."""
    ref = ids.parse_setting_id(instance_id) if isinstance(instance_id, str) else None
    return virt.find_vm(ref.vm_id) if ref is not None else None


def host_adapters(virt: Virtualization) -> list[HostAdapter]:
    backend = virt.backend
    return backend.list_host_adapters() if isinstance(backend, NetworkBackend) else []


def find_switch(virt: Virtualization, switch_id: UUID | None) -> VirtualSwitch | None:
    if switch_id is None:
        return None
    return next((s for s in virt.backend.list_switches() if s.id == switch_id), None)


# --- values -------------------------------------------------------------------


def _port_common(classname: str, system_class: str, system_name: str, guid: UUID, name: str) -> Values:
    return {
        "CreationClassName": classname,
        "DeviceID": f"{ids.PREFIX}{ids.guid(guid)}",
        "SystemCreationClassName": system_class,
        "SystemName": system_name,
        "ElementName": name,
        "HealthState": 5,
        "OperationalStatus": [2],
        "LinkTechnology": 2,
    }


def switch_port_values(port: SwitchPort) -> Values:
    values = _port_common(identity.SWITCH_PORT, SWITCH, identity.switch_name(port.switch.id), port.guid, port.name)
    values.update(
        Name=ids.guid(port.guid),
        Caption="Ethernet Switch Port",
        Description="Microsoft Virtual Switch Port",
        EnabledState=2 if port.enabled and port.switch.active else 3,
        PermanentAddress=port.nic.mac_address if port.nic is not None else None,
    )
    return values


def internal_port_values(virt: Virtualization, switch: VirtualSwitch) -> Values:
    guid = identity.host_port_guid(switch.id, INTERNAL)
    values = _port_common(identity.INTERNAL_PORT, CS, virt.host_name, guid, switch.name)
    mac = identity.internal_mac(switch.id)
    values.update(Name=ids.guid(guid), Caption="Internal Ethernet Port", Description="Microsoft Virtual Ethernet Adapter",
                  EnabledState=2 if switch.active else 3, PermanentAddress=mac, NetworkAddresses=[mac], Speed=10_000_000_000)
    return values


def external_port_values(virt: Virtualization, adapter: HostAdapter, bound: VirtualSwitch | None) -> Values:
    values = _port_common(identity.EXTERNAL_PORT, CS, virt.host_name, identity.adapter_guid(adapter.name), adapter.name)
    values.update(
        Name=adapter.name,
        Caption="External Ethernet Port",
        Description=adapter.description or adapter.name,
        EnabledState=2 if adapter.connected else 3,
        PermanentAddress=adapter.mac_address,
        NetworkAddresses=[adapter.mac_address],
        Speed=adapter.speed_bps,
        MaxSpeed=adapter.speed_bps,
        EnabledForVirtualization=True,
        IsBound=bound is not None,
    )
    return values


def endpoint_values(path: Any, name: str, mac: str | None, enabled: bool) -> Values:
    values = dict(path.keybindings)
    values.update(ElementName=name, Caption="LAN Endpoint", Description="Microsoft LAN Endpoint", NameFormat="MAC",
                  ProtocolIFType=6, MACAddress=mac, EnabledState=2 if enabled else 3, HealthState=5, OperationalStatus=[2])
    return values
