"""Add/Modify/RemoveFeatureSettings, as both management services answer
them: the VM service for a VM's port allocation (os-win and Microsoft's
samples pass the EPASD as AffectedConfiguration), the switch service for
a switch's settings. A VM port's features are kept on its network adapter,
so a change is a device change (hot, while the VM runs) and persists and
raises indications with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pywbem import CIMInstanceName

from cimprovider.backends import NetworkBackend
from cimprovider.providers.base import MethodReturn
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.embedded import PropertyBag, read_embedded
from cimprovider.providers.virtualization.errors import NOT_FOUND, NOT_SUPPORTED, MethodFailure, invalid_parameter
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.network import features, identity
from cimprovider.providers.virtualization.network.features import FeatureKind
from cimprovider.providers.virtualization.network.ports import vm_connection_id
from cimprovider.providers.virtualization.network.switches import find_host_port, switch_of_settings
from cimprovider.schemas.devices import NetworkAdapter
from cimprovider.schemas.host import VirtualSwitch
from cimprovider.schemas.vm import VirtualMachine


@dataclass(frozen=True, slots=True)
class FeatureOwner:
    """What a feature belongs to: a VM's connected adapter or a switch."""

    allocation_id: str
    vm: VirtualMachine | None = None
    nic: NetworkAdapter | None = None
    switch: VirtualSwitch | None = None

    def current(self, kind: FeatureKind) -> Any:
        if self.nic is not None and kind in features.PORT_FEATURES:
            return getattr(self.nic, kind.key)
        if self.switch is not None and kind is features.SWITCH_BANDWIDTH:
            return self.switch.bandwidth
        return None

    def accepts(self, kind: FeatureKind) -> bool:
        return kind in features.PORT_FEATURES if self.nic is not None else kind is features.SWITCH_BANDWIDTH


def locate_owner(virt: Virtualization, allocation_id: str, parameter: str) -> FeatureOwner:
    if find_host_port(virt, allocation_id) is not None:
        raise MethodFailure(NOT_SUPPORTED, f"{parameter}: features of a switch's own external or internal port are not supported")
    switch = switch_of_settings(virt, allocation_id)
    if switch is not None:
        return FeatureOwner(allocation_id, switch=switch)
    ref = ids.parse_setting_id(allocation_id)
    vm = virt.find_vm(ref.vm_id) if ref is not None else None
    if vm is None:
        raise MethodFailure(NOT_FOUND, f"{parameter}: '{allocation_id}' is not the port allocation of an existing virtual machine or switch")
    nic = next((n for n in vm.network_adapters if vm_connection_id(vm.id, n.id).lower() == allocation_id.lower()), None)
    if nic is None or nic.switch_id is None:
        raise MethodFailure(NOT_FOUND, f"{parameter}: virtual machine '{vm.name}' has no port allocation {allocation_id}")
    return FeatureOwner(allocation_id, vm=vm, nic=nic)


def _instance_id(path: Any, parameter: str) -> str:
    if not isinstance(path, CIMInstanceName):
        raise invalid_parameter(parameter, "expected a reference to a setting")
    value = next((v for k, v in path.keybindings.items() if k.lower() == "instanceid"), None)
    if not isinstance(value, str):
        raise invalid_parameter(parameter, f"{path} has no InstanceID")
    return value


def _store(virt: Virtualization, owner: FeatureOwner, kind: FeatureKind, model: Any) -> FeatureOwner:
    """Write the feature (None removes it); the owner as it is now."""
    if owner.nic is not None and owner.vm is not None:
        # The adapter as the backend keeps it: a backend may give features ids of its own.
        stored = virt.backend.modify_device(owner.vm.id, owner.nic.replace(**{kind.key: model}))
        return FeatureOwner(owner.allocation_id, vm=virt.backend.get_vm(owner.vm.id), nic=stored)
    backend = virt.backend
    if not isinstance(backend, NetworkBackend) or owner.switch is None:
        raise MethodFailure(NOT_SUPPORTED, "this host's switches are fixed by the backend")
    switch = backend.modify_switch(owner.switch.replace(bandwidth=model))
    return FeatureOwner(owner.allocation_id, switch=switch)


def _result_path(virt: Virtualization, owner: FeatureOwner, kind: FeatureKind) -> CIMInstanceName:
    stored = owner.current(kind)
    return virt.setting_path(kind.classname, identity.feature_id(owner.allocation_id, kind.guid, stored.id))


def add_features(virt: Virtualization, affected: Any, texts: list[Any]) -> list[CIMInstanceName]:
    owner = locate_owner(virt, _instance_id(affected, "AffectedConfiguration"), "AffectedConfiguration")
    bags = [read_embedded(text, "FeatureSettings") for text in texts]
    results = []
    for bag in bags:
        kind = features.kind_of(bag)
        if not owner.accepts(kind):
            raise invalid_parameter("FeatureSettings", f"{kind.classname} does not apply to {owner.allocation_id}")
        if owner.current(kind) is not None:
            raise invalid_parameter("FeatureSettings", f"{owner.allocation_id} already has {kind.name}; modify or remove them")
        model = features.read_feature(kind, bag, None)
        owner = _store(virt, owner, kind, model)
        results.append(_result_path(virt, owner, kind))
    return results


def _located(virt: Virtualization, instance_id: str, parameter: str) -> tuple[FeatureOwner, FeatureKind, Any]:
    ref = identity.parse_feature_id(instance_id)
    kind = features.BY_GUID.get(ref.feature_guid) if ref is not None else None
    if ref is None or kind is None:
        raise invalid_parameter(parameter, f"'{instance_id}' does not name a feature setting")
    owner = locate_owner(virt, ref.allocation_id, parameter)
    current = owner.current(kind)
    if current is None or current.id != ref.setting_guid:
        if kind is features.OFFLOAD:
            raise MethodFailure(NOT_SUPPORTED, f"{parameter}: {kind.name} show the host's fixed offloads; they cannot be changed")
        raise MethodFailure(NOT_FOUND, f"{parameter}: no feature setting {instance_id}")
    return owner, kind, current


def modify_features(virt: Virtualization, texts: list[Any]) -> list[CIMInstanceName]:
    results = []
    for text in texts:
        bag: PropertyBag = read_embedded(text, "FeatureSettings")
        owner, kind, current = _located(virt, bag.text("InstanceID") or "", "FeatureSettings")
        model = features.read_feature(kind, bag, current)
        owner = _store(virt, owner, kind, model)
        results.append(_result_path(virt, owner, kind))
    return results


def remove_features(virt: Virtualization, paths: list[Any]) -> None:
    for path in paths:
        owner, kind, _current = _located(virt, _instance_id(path, "FeatureSettings"), "FeatureSettings")
        _store(virt, owner, kind, None)


def feature_handlers(virt: Virtualization) -> dict[str, Callable[[dict[str, Any]], MethodReturn]]:
    """Both services' feature methods; the service turns a failure into a
    failed job, as it does for its other methods."""
    return {
        "addfeaturesettings": lambda p: MethodReturn(0, {"ResultingFeatureSettings": add_features(
            virt, p.get("AffectedConfiguration"), p.get("FeatureSettings") or [])}),
        "modifyfeaturesettings": lambda p: MethodReturn(0, {"ResultingFeatureSettings": modify_features(
            virt, p.get("FeatureSettings") or [])}),
        "removefeaturesettings": lambda p: _removed(virt, p),
    }


def _removed(virt: Virtualization, params: dict[str, Any]) -> MethodReturn:
    remove_features(virt, params.get("FeatureSettings") or [])
    return MethodReturn(0)
