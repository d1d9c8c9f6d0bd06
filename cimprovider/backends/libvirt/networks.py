"""libvirt networks as Hyper-V switches, both ways.

Private → an isolated network (no `<forward>`, no host `<ip>`); internal →
a network with a host address, no forwarding and no DNS; external → macvtap on
the chosen host interface (`<forward mode='bridge'><interface dev=…/>`).
What Hyper-V has and libvirt does not — the switch's own name (libvirt's
names are unique, Hyper-V's are not), notes, bandwidth settings — lives in
the network's `<metadata>`. Networks defined with virsh read as switches by
what they are: forwarding to a host interface or bridge is external, a
host address or routing is internal, neither is private."""

from __future__ import annotations

import ipaddress
import re
from uuid import UUID

import libvirt
from lxml import etree

from cimprovider.backends.libvirt.identity import model_mac
from cimprovider.schemas.host import VirtualSwitch
from cimprovider.schemas.network import HostAdapter, SwitchBandwidth

NAMESPACE = "https://cimprovider.dev/xmlns/hyperv-switch/1"
PREFIX = "hvsw"
EXTERNAL_MODES = ("bridge", "passthrough", "private", "vepa", "hostdev")
# Internal switches get 10.213.N.1/24, the first N no other network uses.
INTERNAL_BLOCK = ipaddress.ip_network("10.213.0.0/16")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def network_name_for(name: str) -> str:
    return _UNSAFE.sub("-", name).strip("-.")[:50] or "switch"


def used_addresses(networks: list[libvirt.virNetwork]) -> set[str]:
    found = set()
    for network in networks:
        for ip in etree.fromstring(network.XMLDesc(0)).iterfind("ip"):
            found.add(ip.get("address", ""))
    return found


def internal_address(networks: list[libvirt.virNetwork]) -> str:
    taken = used_addresses(networks)
    for subnet in INTERNAL_BLOCK.subnets(new_prefix=24):
        address = str(next(subnet.hosts()))
        if address not in taken:
            return address
    raise RuntimeError("no free 10.213.N.0/24 left for an internal switch")


def network_xml(switch: VirtualSwitch, libvirt_name: str, address: str | None) -> str:
    root = etree.Element("network")
    etree.SubElement(root, "name").text = libvirt_name
    etree.SubElement(root, "uuid").text = str(switch.id)
    metadata = etree.SubElement(etree.SubElement(root, "metadata"), _q("switch"), nsmap={PREFIX: NAMESPACE})
    etree.SubElement(metadata, _q("name")).text = switch.name
    etree.SubElement(metadata, _q("notes")).text = switch.notes
    etree.SubElement(metadata, _q("bandwidth_reservation_mode")).text = str(switch.bandwidth_reservation_mode)
    if switch.bandwidth is not None:
        etree.SubElement(metadata, _q("bandwidth")).text = switch.bandwidth.model_dump_json()
    if switch.external_adapter is not None:
        forward = etree.SubElement(root, "forward", mode="bridge")
        etree.SubElement(forward, "interface", dev=switch.external_adapter)
    else:
        etree.SubElement(root, "bridge", stp="on", delay="0")
        if switch.host_connected and address is not None:
            # Hyper-V's internal switch gives the host an address and serves
            # nothing on it; libvirt's DNS would also need dnsmasq, which
            # a host without it refuses the network for.
            etree.SubElement(root, "dns", enable="no")
            etree.SubElement(root, "ip", address=address, netmask="255.255.255.0")
    return etree.tostring(root, encoding="unicode")


def definition(network: libvirt.virNetwork) -> etree._Element:
    """The persistent definition (what a change wrote, even before the
    network restarts); the live one where the driver has no other."""
    try:
        return etree.fromstring(network.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE))
    except libvirt.libvirtError:
        return etree.fromstring(network.XMLDesc(0))


def reads_definition(network: libvirt.virNetwork) -> bool:
    try:
        network.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
    except libvirt.libvirtError:
        return False
    return True


def network_switch(network: libvirt.virNetwork) -> VirtualSwitch:
    xml = definition(network)
    forward = xml.find("forward")
    mode = forward.get("mode", "nat") if forward is not None else None
    adapter = None
    if mode in EXTERNAL_MODES:
        adapter = forward.xpath("string(interface/@dev)") or forward.xpath("string(pf/@dev)") or xml.xpath("string(bridge/@name)") or network.name()
    mine = xml.find(f"metadata/{_q('switch')}")
    bandwidth = mine.findtext(_q("bandwidth")) if mine is not None else None
    return VirtualSwitch(
        id=network.UUIDString(),
        name=(mine.findtext(_q("name")) if mine is not None else None) or network.name()[:100],
        notes=(mine.findtext(_q("notes")) if mine is not None else None) or "",
        external_adapter=adapter[:64] if adapter else None,
        host_connected=adapter is None and (mode is not None or xml.find("ip") is not None),
        active=bool(network.isActive()),
        bandwidth_reservation_mode=int((mine.findtext(_q("bandwidth_reservation_mode")) if mine is not None else None) or 2),
        bandwidth=SwitchBandwidth.model_validate_json(bandwidth) if bandwidth else None,
    )


def host_adapters(conn: libvirt.virConnect) -> list[HostAdapter]:
    """The host's interfaces as libvirt's interface driver lists them."""
    found = []
    for interface in conn.listAllInterfaces():
        if interface.name() == "lo":
            continue
        mac = model_mac(interface.MACString() or "")
        found.append(HostAdapter(name=interface.name()[:64], mac_address=mac if len(mac) == 12 else "000000000000",
                                 description=f"Host interface {interface.name()}", connected=bool(interface.isActive())))
    return sorted(found, key=lambda a: a.name)


def network_of(conn: libvirt.virConnect, switch_id: UUID | None) -> etree._Element | None:
    """The definition of the network a switch is, None for a host bridge or no switch."""
    if switch_id is None:
        return None
    try:
        return etree.fromstring(conn.networkLookupByUUID(switch_id.bytes).XMLDesc(0))
    except libvirt.libvirtError:
        return None
