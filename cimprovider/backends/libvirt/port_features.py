"""A switch port's features in a domain's `<interface>`: bandwidth as
`<bandwidth>` (libvirt counts kilobytes per second), MAC spoofing refused
through the `no-mac-spoofing` nwfilter, a VLAN as `<vlan>` — which libvirt
applies only on an Open vSwitch network or macvtap passthrough, so a VLAN
anywhere else is refused, as are the features libvirt has nothing for
(DHCP and router guard, a bandwidth reservation). The features' ids are
derived from the adapter's, so reading them back gives the same ids."""

from __future__ import annotations

from uuid import UUID, uuid5

from lxml import etree

from cimprovider.backends.errors import InvalidParameterError
from cimprovider.schemas.devices import NetworkAdapter
from cimprovider.schemas.network import PortBandwidth, PortSecurity, PortVlan, VlanMode

NO_MAC_SPOOFING = "no-mac-spoofing"
FEATURE_TAGS = ("bandwidth", "filterref", "vlan")
_MODELS: dict[str, type[PortVlan] | type[PortSecurity] | type[PortBandwidth]] = {
    "vlan": PortVlan, "security": PortSecurity, "bandwidth": PortBandwidth,
}


def feature_id(nic_id: UUID, kind: str) -> UUID:
    return uuid5(nic_id, f"feature/{kind}")


def _kilobytes(bits_per_second: int) -> str:
    return str(max(1, bits_per_second // 8000))


def append_features(element: etree._Element, nic: NetworkAdapter) -> None:
    if nic.bandwidth is not None and nic.bandwidth.limit_bps:
        bandwidth = etree.SubElement(element, "bandwidth")
        etree.SubElement(bandwidth, "inbound", average=_kilobytes(nic.bandwidth.limit_bps))
        etree.SubElement(bandwidth, "outbound", average=_kilobytes(nic.bandwidth.limit_bps))
    if nic.security is not None and not nic.security.allow_mac_spoofing:
        etree.SubElement(element, "filterref", filter=NO_MAC_SPOOFING)
    if nic.vlan is not None:
        trunk = nic.vlan.mode is VlanMode.TRUNK
        vlan = etree.SubElement(element, "vlan", trunk="yes") if trunk else etree.SubElement(element, "vlan")
        if trunk:
            if nic.vlan.native_vlan is not None:
                etree.SubElement(vlan, "tag", id=str(nic.vlan.native_vlan), nativeMode="untagged")
            for tag in nic.vlan.trunk_vlans:
                if tag != nic.vlan.native_vlan:
                    etree.SubElement(vlan, "tag", id=str(tag))
        else:
            etree.SubElement(vlan, "tag", id=str(nic.vlan.access_vlan))


def stored_features(nic: NetworkAdapter) -> dict[str, str]:
    """The features as set, for our metadata: what the interface's XML
    cannot say (a security setting that allows spoofing, the ids) is kept."""
    return {kind: getattr(nic, kind).model_dump_json() for kind in _MODELS if getattr(nic, kind) is not None}


def read_features(element: etree._Element, nic_id: UUID, stored: dict[str, str]) -> dict[str, object]:
    """The NetworkAdapter fields: as our metadata keeps them, else (an
    interface written with virsh) as the interface's features give them."""
    if any(kind in stored for kind in _MODELS):
        return {kind: model.model_validate_json(stored[kind]) for kind, model in _MODELS.items() if kind in stored}
    found: dict[str, object] = {}
    outbound = element.find("bandwidth/outbound")
    if outbound is not None and outbound.get("average"):
        found["bandwidth"] = PortBandwidth(id=feature_id(nic_id, "bandwidth"), limit_bps=int(outbound.get("average", "0")) * 8000)
    if element.find(f"filterref[@filter='{NO_MAC_SPOOFING}']") is not None:
        found["security"] = PortSecurity(id=feature_id(nic_id, "security"), allow_mac_spoofing=False)
    vlan = element.find("vlan")
    tags = vlan.findall("tag") if vlan is not None else []
    if tags:
        ids = [int(tag.get("id", "0")) for tag in tags]
        if vlan.get("trunk") == "yes" or len(ids) > 1:
            native = next((int(t.get("id", "0")) for t in tags if t.get("nativeMode")), None)
            found["vlan"] = PortVlan(id=feature_id(nic_id, "vlan"), mode=VlanMode.TRUNK, native_vlan=native, trunk_vlans=tuple(ids))
        else:
            found["vlan"] = PortVlan(id=feature_id(nic_id, "vlan"), access_vlan=ids[0])
    return found


def check_features(nic: NetworkAdapter, network_xml: etree._Element | None) -> None:
    """Refuse what libvirt cannot carry out on the adapter's network."""
    if nic.security is not None and (nic.security.dhcp_guard or nic.security.router_guard):
        field = "security.dhcp_guard" if nic.security.dhcp_guard else "security.router_guard"
        raise InvalidParameterError(field, "libvirt has no filter that drops a guest's DHCP server or router messages")
    if nic.bandwidth is not None and nic.bandwidth.reservation_bps:
        raise InvalidParameterError("bandwidth.reservation_bps", "libvirt guarantees bandwidth only inside a network with its own QoS; not supported")
    if nic.vlan is not None and not _can_tag(network_xml):
        name = network_xml.findtext("name") if network_xml is not None else "a host bridge"
        raise InvalidParameterError(
            "vlan", f"libvirt tags VLANs only on an Open vSwitch network or macvtap passthrough; {name} is neither"
        )


def _can_tag(network_xml: etree._Element | None) -> bool:
    if network_xml is None:
        return False
    if network_xml.find("virtualport[@type='openvswitch']") is not None:
        return True
    forward = network_xml.find("forward")
    return forward is not None and forward.get("mode") == "passthrough"
