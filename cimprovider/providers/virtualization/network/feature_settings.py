"""The feature settings clients read: each VM port's VLAN, security and
bandwidth (when set) and offloads (always), each switch's bandwidth
defaults (when set), every feature's `\\Default` template, and the
feature capabilities that lead to those templates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.providers.base import InstanceProvider, OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.network import features, identity
from cimprovider.providers.virtualization.network.features import FeatureKind
from cimprovider.schemas.vm import VirtualMachine
from cimprovider.providers.virtualization.network.ports import VM, SwitchPort, every_port, vm_named_by
from cimprovider.schemas.host import VirtualSwitch

Values = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FeatureSetting:
    kind: FeatureKind
    owner_id: str  # the port allocation's InstanceID, or the switch settings'
    model: Any  # the schemas feature (None for offloads)
    instance_id: str

    def values(self) -> Values:
        return features.feature_values(self.kind, self.instance_id, self.model)


def port_features(port: SwitchPort) -> list[FeatureSetting]:
    if port.role != VM or port.nic is None:
        return []
    found = []
    for kind in features.PORT_FEATURES:
        model = getattr(port.nic, kind.key)
        if model is not None:
            found.append(FeatureSetting(kind, port.allocation_id, model, identity.feature_id(port.allocation_id, kind.guid, model.id)))
    offload_id = identity.feature_id(port.allocation_id, features.OFFLOAD.guid, port.guid)
    found.append(FeatureSetting(features.OFFLOAD, port.allocation_id, None, offload_id))
    return found


def switch_features(switch: VirtualSwitch) -> list[FeatureSetting]:
    if switch.bandwidth is None:
        return []
    owner = identity.switch_settings_id(switch.id)
    kind = features.SWITCH_BANDWIDTH
    return [FeatureSetting(kind, owner, switch.bandwidth, identity.feature_id(owner, kind.guid, switch.bandwidth.id))]


def every_feature(virt: Virtualization, near: VirtualMachine | None = None) -> Iterator[FeatureSetting]:
    """Every port's and switch's features; with `near`, of that VM's ports only."""
    for port in every_port(virt, near):
        yield from port_features(port)
    for switch in virt.backend.list_switches():
        yield from switch_features(switch)


def capabilities_id(kind: FeatureKind) -> str:
    return f"{ids.PREFIX}{ids.guid(kind.guid)}"


def capabilities_values(kind: FeatureKind) -> Values:
    return {
        "InstanceID": capabilities_id(kind),
        "ElementName": kind.name.replace(" Settings", ""),
        "Caption": "Ethernet Switch Feature Capabilities",
        "FeatureId": ids.guid(kind.guid),
        "Applicability": 2 if kind.on_switch else 1,
        "FeatureSettingClass": kind.classname,
    }


class FeatureSettingsProvider(InstanceProvider):
    classnames = features.FEATURE_CLASSES

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        kind = features.BY_CLASS[classname.lower()]
        render = self.virt.renderer.instance
        for setting in every_feature(self.virt):
            if setting.kind is kind:
                yield render(kind.classname, setting.values(), properties)
        yield render(kind.classname, features.template_values(kind), properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        kind = features.BY_CLASS.get(path.classname.lower())
        instance_id = next((v for k, v in path.keybindings.items() if k.lower() == "instanceid"), None)
        if kind is None or not isinstance(instance_id, str):
            raise instance_not_found(path)
        if instance_id.lower() == kind.template_id.lower():
            return self.virt.renderer.instance(kind.classname, features.template_values(kind), properties)
        for setting in every_feature(self.virt, vm_named_by(self.virt, instance_id)):
            if setting.kind is kind and setting.instance_id.lower() == instance_id.lower():
                return self.virt.renderer.instance(kind.classname, setting.values(), properties)
        raise instance_not_found(path)


class FeatureCapabilitiesProvider(InstanceProvider):
    classnames = (features.CAPABILITIES,)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for kind in features.FEATURES:
            yield self.virt.renderer.instance(features.CAPABILITIES, capabilities_values(kind), properties)
