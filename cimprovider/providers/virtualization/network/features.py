"""Feature settings of switch ports and switches, as Hyper-V's classes:
VLAN, security and bandwidth of a VM's port (kept on its network adapter),
the offloads every port shows, and the switch's default-flow bandwidth.

Each feature has its GUID (in its settings' InstanceIDs and its
capabilities' FeatureId) and a `\\Default` template, which clients fetch by
`InstanceID LIKE '%\\Default'`, change, and pass to AddFeatureSettings. A
property this host does not carry out (private VLANs, port mirroring,
network virtualization…) is refused unless it keeps its default: a
setting the model cannot honour is never dropped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.embedded import PropertyBag
from cimprovider.providers.virtualization.errors import invalid_parameter
from cimprovider.providers.virtualization.systems.settings import named_failure
from cimprovider.schemas.network import PortBandwidth, PortSecurity, PortVlan, SwitchBandwidth, VlanMode

Values = dict[str, Any]

VLAN_SD = "Msvm_EthernetSwitchPortVlanSettingData"
SECURITY_SD = "Msvm_EthernetSwitchPortSecuritySettingData"
BANDWIDTH_SD = "Msvm_EthernetSwitchPortBandwidthSettingData"
OFFLOAD_SD = "Msvm_EthernetSwitchPortOffloadSettingData"
SWITCH_BANDWIDTH_SD = "Msvm_VirtualEthernetSwitchBandwidthSettingData"
CAPABILITIES = "Msvm_EthernetSwitchFeatureCapabilities"

_OPERATION_MODES = {VlanMode.ACCESS: 1, VlanMode.TRUNK: 2}


@dataclass(frozen=True, slots=True)
class FeatureKind:
    key: str  # the NetworkAdapter field (port features) or "offload" / "switch_bandwidth"
    classname: str
    guid: UUID
    name: str
    on_switch: bool = False

    @property
    def template_id(self) -> str:
        return ids.template_id(self.guid, "Default")


# Hyper-V's feature GUIDs for VLAN, security and offload; ours for the others.
VLAN = FeatureKind("vlan", VLAN_SD, UUID("952C5004-4465-451C-8CB8-FA9AB382B773"), "Ethernet Switch Port VLAN Settings")
SECURITY = FeatureKind("security", SECURITY_SD, UUID("776E0BA7-94A1-41C8-8F28-951F524251B5"), "Ethernet Switch Port Security Settings")
BANDWIDTH = FeatureKind("bandwidth", BANDWIDTH_SD, UUID("24AC3F4D-EC3F-4BA6-B8FB-8ABCDDA1EB44"), "Ethernet Switch Port Bandwidth Settings")
OFFLOAD = FeatureKind("offload", OFFLOAD_SD, UUID("C885BFD1-ABB7-418F-8163-9F379C9F7166"), "Ethernet Switch Port Offload Settings")
SWITCH_BANDWIDTH = FeatureKind(
    "switch_bandwidth", SWITCH_BANDWIDTH_SD, UUID("3EB2B8E8-4ABF-4DBF-9071-16DD47481FBE"), "Virtual Ethernet Switch Bandwidth Settings", True
)
PORT_FEATURES = (VLAN, SECURITY, BANDWIDTH)
FEATURES = (VLAN, SECURITY, BANDWIDTH, OFFLOAD, SWITCH_BANDWIDTH)
BY_CLASS = {kind.classname.lower(): kind for kind in FEATURES}
BY_GUID = {kind.guid: kind for kind in FEATURES}
FEATURE_CLASSES = tuple(kind.classname for kind in FEATURES)


def _common(kind: FeatureKind, instance_id: str) -> Values:
    return {"InstanceID": instance_id, "ElementName": kind.name, "Caption": kind.name,
            "Description": f"Represents the {kind.name.lower()}."}


def vlan_values(instance_id: str, vlan: PortVlan | None) -> Values:
    values = _common(VLAN, instance_id)
    values.update(OperationMode=_OPERATION_MODES[vlan.mode] if vlan else 0, AccessVlanId=(vlan.access_vlan or 0) if vlan else 0,
                  NativeVlanId=(vlan.native_vlan or 0) if vlan else 0, TrunkVlanIdArray=list(vlan.trunk_vlans) if vlan else [],
                  PruneVlanIdArray=[], PvlanMode=0, PrimaryVlanId=0, SecondaryVlanId=0, SecondaryVlanIdArray=[])
    return values


def security_values(instance_id: str, security: PortSecurity | None) -> Values:
    security = security or PortSecurity()
    values = _common(SECURITY, instance_id)
    values.update(AllowMacSpoofing=security.allow_mac_spoofing, EnableDhcpGuard=security.dhcp_guard,
                  EnableRouterGuard=security.router_guard, MonitorMode=0, AllowIeeePriorityTag=False, VirtualSubnetId=0,
                  DynamicIPAddressLimit=0, StormLimit=0, AllowTeaming=False)
    return values


def bandwidth_values(instance_id: str, bandwidth: PortBandwidth | None) -> Values:
    bandwidth = bandwidth or PortBandwidth()
    values = _common(BANDWIDTH, instance_id)
    values.update(Limit=bandwidth.limit_bps, Reservation=bandwidth.reservation_bps, Weight=0, BurstLimit=0, BurstSize=0)
    return values


def offload_values(instance_id: str, _unused: object = None) -> Values:
    values = _common(OFFLOAD, instance_id)
    values.update(VMQOffloadWeight=100, IOVOffloadWeight=0, IPSecOffloadLimit=512, IOVQueuePairsRequested=1, IOVInterruptModeration=0)
    return values


def switch_bandwidth_values(instance_id: str, bandwidth: SwitchBandwidth | None) -> Values:
    bandwidth = bandwidth or SwitchBandwidth()
    values = _common(SWITCH_BANDWIDTH, instance_id)
    values.update(DefaultFlowReservation=bandwidth.default_flow_reservation_bps, DefaultFlowWeight=bandwidth.default_flow_weight)
    return values


VALUE_FUNCTIONS: dict[str, Callable[[str, Any], Values]] = {
    "vlan": vlan_values, "security": security_values, "bandwidth": bandwidth_values,
    "offload": offload_values, "switch_bandwidth": switch_bandwidth_values,
}


def template_values(kind: FeatureKind) -> Values:
    values = VALUE_FUNCTIONS[kind.key](kind.template_id, None)
    values["Caption"] = f"{kind.name} Default"
    return values


def feature_values(kind: FeatureKind, instance_id: str, model: Any) -> Values:
    return VALUE_FUNCTIONS[kind.key](instance_id, model)


# --- from a client's embedded instance to a model ------------------------------

# Properties shown with their default that this host cannot change.
_FIXED = {
    "vlan": {"PruneVlanIdArray": [], "PvlanMode": 0, "PrimaryVlanId": 0, "SecondaryVlanId": 0, "SecondaryVlanIdArray": []},
    "security": {"MonitorMode": 0, "AllowIeeePriorityTag": False, "VirtualSubnetId": 0, "DynamicIPAddressLimit": 0,
                 "StormLimit": 0, "AllowTeaming": False},
    "bandwidth": {"Weight": 0, "BurstLimit": 0, "BurstSize": 0},
    "switch_bandwidth": {},
}
_FIELDS = {
    "access_vlan": "AccessVlanId", "native_vlan": "NativeVlanId", "trunk_vlans": "TrunkVlanIdArray", "mode": "OperationMode",
    "allow_mac_spoofing": "AllowMacSpoofing", "dhcp_guard": "EnableDhcpGuard", "router_guard": "EnableRouterGuard",
    "limit_bps": "Limit", "reservation_bps": "Reservation",
    "default_flow_reservation_bps": "DefaultFlowReservation", "default_flow_weight": "DefaultFlowWeight",
}


def _refuse_unmodelled(kind: FeatureKind, bag: PropertyBag) -> None:
    for name, default in _FIXED.get(kind.key, {}).items():
        raw = bag.raw(name)
        if raw is None:
            continue
        if isinstance(default, list):
            given: Any = bag.integers(name)
        elif isinstance(default, bool):
            given = bag.boolean(name)
        else:
            given = bag.integer(name)
        if given != default:
            raise invalid_parameter(name, f"{raw!r} cannot be honoured by this host; only {default!r} is supported")


def _validated(model: type, values: dict[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise named_failure(error, _FIELDS) from None


def _vlan(bag: PropertyBag, current: PortVlan | None) -> PortVlan:
    values = current.model_dump() if current else {}
    mode = bag.integer("OperationMode")
    if mode is not None:
        modes = {code: name for name, code in _OPERATION_MODES.items()}
        if mode not in modes:
            raise invalid_parameter("OperationMode", f"{mode} is not 1 (access) or 2 (trunk); private VLANs are not supported")
        values["mode"] = modes[mode]
    for prop, field in (("AccessVlanId", "access_vlan"), ("NativeVlanId", "native_vlan")):
        number = bag.integer(prop)
        if number is not None:
            values[field] = number or None
    trunk = bag.integers("TrunkVlanIdArray")
    if trunk is not None:
        values["trunk_vlans"] = tuple(trunk)
    return _validated(PortVlan, values)


def _security(bag: PropertyBag, current: PortSecurity | None) -> PortSecurity:
    values = current.model_dump() if current else {}
    for prop, field in (("AllowMacSpoofing", "allow_mac_spoofing"), ("EnableDhcpGuard", "dhcp_guard"), ("EnableRouterGuard", "router_guard")):
        flag = bag.boolean(prop)
        if flag is not None:
            values[field] = flag
    return _validated(PortSecurity, values)


def _bandwidth(bag: PropertyBag, current: PortBandwidth | None) -> PortBandwidth:
    values = current.model_dump() if current else {}
    for prop, field in (("Limit", "limit_bps"), ("Reservation", "reservation_bps")):
        number = bag.integer(prop)
        if number is not None:
            values[field] = number
    return _validated(PortBandwidth, values)


def _switch_bandwidth(bag: PropertyBag, current: SwitchBandwidth | None) -> SwitchBandwidth:
    values = current.model_dump() if current else {}
    for prop, field in (("DefaultFlowReservation", "default_flow_reservation_bps"), ("DefaultFlowWeight", "default_flow_weight")):
        number = bag.integer(prop)
        if number is not None:
            values[field] = number
    return _validated(SwitchBandwidth, values)


_READERS: dict[str, Callable[[PropertyBag, Any], Any]] = {
    "vlan": _vlan, "security": _security, "bandwidth": _bandwidth, "switch_bandwidth": _switch_bandwidth,
}


def kind_of(bag: PropertyBag) -> FeatureKind:
    kind = BY_CLASS.get(bag.classname.lower())
    if kind is None:
        raise invalid_parameter("FeatureSettings", f"{bag.classname or 'an instance without a class'} is not a feature this host supports")
    return kind


def read_feature(kind: FeatureKind, bag: PropertyBag, current: Any) -> Any:
    """The feature's model from `bag`, applied onto `current` (None when adding)."""
    reader = _READERS.get(kind.key)
    if reader is None:
        raise invalid_parameter("FeatureSettings", f"{kind.classname} shows the host's fixed offloads; it cannot be changed")
    _refuse_unmodelled(kind, bag)
    return reader(bag, current)
