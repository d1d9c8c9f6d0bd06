"""The associations clients follow through virtual networking: switch →
ports (Msvm_SystemDevice, beside the VMs'), port → its allocation
(Msvm_ElementSettingData), switch → settings (Msvm_SettingsDefineState),
switch settings → its own port allocations (Msvm_VirtualSystemSettingData-
Component), allocation → features (Msvm_EthernetPortSettingDataComponent),
device → endpoint (Msvm_EthernetDeviceSAPImplementation), switch port's
endpoint → the host adapter's (Msvm_ActiveConnection), and feature
capabilities → templates (Msvm_FeatureSettingsDefineCapabilities).

Switches are few, but there is a port per connected VM adapter: each
part lists its pairs, and a traversal from one VM's object (its port
allocation, a feature of it) lists the switches' own ports and that VM's
only; a traversal from a class a part never holds skips it without
reading anything."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from pywbem import CIMInstanceName

from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.associations import Pair, PairAssociation, key, same_instance
from cimprovider.providers.virtualization.model import CS, SWITCH, Virtualization
from cimprovider.providers.virtualization.network import features, identity
from cimprovider.providers.virtualization.network.feature_settings import (
    capabilities_id,
    port_features,
    switch_features,
)
from cimprovider.providers.virtualization.network.port_devices import endpoint_pairs, host_side_endpoint, switch_side
from cimprovider.providers.virtualization.network.ports import every_host_port, every_port, host_adapters, host_ports, vm_named_by
from cimprovider.schemas.vm import VirtualMachine

RAS_CLASSES = {"msvm_ethernetportallocationsettingdata", "msvm_syntheticethernetportsettingdata",
               "msvm_emulatedethernetportsettingdata"}


class _NetworkPairs(PairAssociation):
    """Pairs over the whole network; `ends` names the classes a pair's
    ends may have, so traversals from anything else cost nothing."""

    ends: ClassVar[frozenset[str]]

    def _holds(self, path: CIMInstanceName) -> bool:
        return path.classname.lower() in self.ends

    def pairs(self) -> Iterator[Pair]:
        return self.pairs_near(None)

    def pairs_near(self, vm: VirtualMachine | None) -> Iterator[Pair]:
        """The pairs; with `vm`, at least those of that VM's ports (the
        parts that walk ports read that VM's only)."""
        raise NotImplementedError

    def rights(self, left: CIMInstanceName) -> Iterator[CIMInstanceName]:
        if not self._holds(left) or self._frozen(left):
            return iter(())
        return (r for l, r in self.pairs_near(self._near(left)) if same_instance(l, left))

    def lefts(self, right: CIMInstanceName) -> Iterator[CIMInstanceName]:
        if not self._holds(right) or self._frozen(right):
            return iter(())
        return (l for l, r in self.pairs_near(self._near(right)) if same_instance(r, right))

    def _near(self, path: CIMInstanceName) -> VirtualMachine | None:
        return vm_named_by(self.virt, key(path, "InstanceID"))

    def _frozen(self, path: CIMInstanceName) -> bool:
        """A snapshot's adapter settings (model.frozen_view): no port is
        made of them, so nothing here pairs with them."""
        instance_id = key(path, "InstanceID")
        ref = ids.parse_setting_id(instance_id) if isinstance(instance_id, str) else None
        return ref is not None and self.virt.find_vm(ref.vm_id) is None and self.virt.snapshot_view(ref.vm_id) is not None


def _lower(*names: str) -> frozenset[str]:
    return frozenset(name.lower() for name in names)


class SwitchSystemDevice(_NetworkPairs):
    classname = "Msvm_SystemDevice"
    roles = ("GroupComponent", "PartComponent")
    ends = _lower(SWITCH, CS, identity.SWITCH_PORT, identity.INTERNAL_PORT, identity.EXTERNAL_PORT)

    def pairs_near(self, vm: VirtualMachine | None) -> Iterator[Pair]:
        virt = self.virt
        for port in every_port(virt, vm):
            yield virt.switch_path(port.switch.id), identity.switch_port_path(virt, port.switch, port.guid)
        host = virt.host_path()
        for switch in virt.backend.list_switches():
            if switch.host_connected:
                yield host, identity.internal_port_path(virt, switch.id)
        for adapter in host_adapters(virt):
            yield host, identity.external_port_path(virt, adapter.name)

    def rights(self, left: CIMInstanceName) -> Iterator[CIMInstanceName]:
        # From a VM (a CS that is not the host) there is nothing here.
        if left.classname.lower() == CS.lower() and self.virt.vm_from_system(left) is not None:
            return iter(())
        return super().rights(left)

    def lefts(self, right: CIMInstanceName) -> Iterator[CIMInstanceName]:
        # A system (the host, a VM) is never a part here.
        if right.classname.lower() == CS.lower():
            return iter(())
        return super().lefts(right)


class PortSettingData(_NetworkPairs):
    classname = "Msvm_ElementSettingData"
    roles = ("ManagedElement", "SettingData")
    ends = _lower(SWITCH, identity.SWITCH_SETTINGS, identity.SWITCH_PORT, identity.EPASD)

    def pairs_near(self, vm: VirtualMachine | None) -> Iterator[Pair]:
        virt = self.virt
        for switch in virt.backend.list_switches():
            yield virt.switch_path(switch.id), virt.setting_path(identity.SWITCH_SETTINGS, identity.switch_settings_id(switch.id))
        for port in every_port(virt, vm):
            yield identity.switch_port_path(virt, port.switch, port.guid), virt.setting_path(identity.EPASD, port.allocation_id)


class SwitchDefineState(_NetworkPairs):
    classname = "Msvm_SettingsDefineState"
    roles = ("ManagedElement", "SettingData")
    ends = _lower(SWITCH, identity.SWITCH_SETTINGS)

    def pairs_near(self, vm: VirtualMachine | None) -> Iterator[Pair]:
        for switch in self.virt.backend.list_switches():
            yield self.virt.switch_path(switch.id), self.virt.setting_path(identity.SWITCH_SETTINGS, identity.switch_settings_id(switch.id))


class SwitchSettingsComponent(_NetworkPairs):
    classname = "Msvm_VirtualSystemSettingDataComponent"
    roles = ("GroupComponent", "PartComponent")
    ends = _lower(identity.SWITCH_SETTINGS, identity.EPASD)

    def pairs_near(self, vm: VirtualMachine | None) -> Iterator[Pair]:
        virt = self.virt
        for switch in virt.backend.list_switches():
            settings = virt.setting_path(identity.SWITCH_SETTINGS, identity.switch_settings_id(switch.id))
            for port in host_ports(switch):
                yield settings, virt.setting_path(identity.EPASD, port.allocation_id)


class SwitchFeatureComponent(_NetworkPairs):
    classname = "Msvm_VirtualEthernetSwitchSettingDataComponent"
    roles = ("GroupComponent", "PartComponent")
    ends = _lower(identity.SWITCH_SETTINGS, *features.FEATURE_CLASSES)

    def pairs_near(self, vm: VirtualMachine | None) -> Iterator[Pair]:
        for switch in self.virt.backend.list_switches():
            for setting in switch_features(switch):
                yield (self.virt.setting_path(identity.SWITCH_SETTINGS, setting.owner_id),
                       self.virt.setting_path(setting.kind.classname, setting.instance_id))


class PortFeatureComponent(_NetworkPairs):
    classname = "Msvm_EthernetPortSettingDataComponent"
    roles = ("GroupComponent", "PartComponent")
    ends = _lower(identity.EPASD, *features.FEATURE_CLASSES)

    def pairs_near(self, vm: VirtualMachine | None) -> Iterator[Pair]:
        for port in every_port(self.virt, vm):
            for setting in port_features(port):
                yield (self.virt.setting_path(identity.EPASD, setting.owner_id),
                       self.virt.setting_path(setting.kind.classname, setting.instance_id))


class DeviceEndpoint(_NetworkPairs):
    classname = "Msvm_EthernetDeviceSAPImplementation"
    roles = ("Antecedent", "Dependent")
    ends = _lower(identity.SWITCH_PORT, identity.INTERNAL_PORT, identity.EXTERNAL_PORT, identity.LAN_ENDPOINT)

    def pairs_near(self, vm: VirtualMachine | None) -> Iterator[Pair]:
        for device, values in endpoint_pairs(self.virt):
            yield device, self.virt.renderer.path(identity.LAN_ENDPOINT, values)


class ActiveConnection(_NetworkPairs):
    classname = "Msvm_ActiveConnection"
    roles = ("Antecedent", "Dependent")
    ends = _lower(identity.LAN_ENDPOINT)

    def pairs_near(self, vm: VirtualMachine | None) -> Iterator[Pair]:
        for port in every_host_port(self.virt):
            _device, values = switch_side(self.virt, port)
            yield self.virt.renderer.path(identity.LAN_ENDPOINT, values), host_side_endpoint(self.virt, port)

    def extra(self, left: CIMInstanceName, right: CIMInstanceName) -> dict[str, Any]:
        return {"TrafficType": 0, "IsUnidirectional": False}


class SwitchHostedService(_NetworkPairs):
    classname = "Msvm_HostedService"
    roles = ("Antecedent", "Dependent")
    ends = _lower(CS, identity.SWITCH_SERVICE)

    def pairs_near(self, vm: VirtualMachine | None) -> Iterator[Pair]:
        yield self.virt.host_path(), identity.service_path(self.virt)


class FeatureDefineCapabilities(_NetworkPairs):
    classname = "Msvm_FeatureSettingsDefineCapabilities"
    roles = ("GroupComponent", "PartComponent")
    ends = _lower(features.CAPABILITIES, *features.FEATURE_CLASSES)

    def pairs_near(self, vm: VirtualMachine | None) -> Iterator[Pair]:
        for kind in features.FEATURES:
            yield (self.virt.setting_path(features.CAPABILITIES, capabilities_id(kind)),
                   self.virt.setting_path(kind.classname, kind.template_id))

    def extra(self, left: CIMInstanceName, right: CIMInstanceName) -> dict[str, Any]:
        return {"ValueRole": 0, "ValueRange": 0, "PropertyPolicy": 0}


NETWORK_ASSOCIATIONS: tuple[type[PairAssociation], ...] = (
    SwitchSystemDevice, PortSettingData, SwitchDefineState, SwitchSettingsComponent, SwitchFeatureComponent,
    PortFeatureComponent, DeviceEndpoint, ActiveConnection, SwitchHostedService, FeatureDefineCapabilities,
)


def network_associations(virt: Virtualization) -> list[PairAssociation]:
    return [association(virt) for association in NETWORK_ASSOCIATIONS]
