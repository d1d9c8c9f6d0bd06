"""Host PCI devices on libvirt: the host's node devices (the ones the
admin allowed) and a VM's `<hostdev mode='subsystem' type='pci'>`
elements, which libvirt detaches from the host driver when the guest
starts (managed='yes') and gives back when it stops."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import libvirt
from lxml import etree

from cimprovider.backends.libvirt.identity import alias_of, device_id
from cimprovider.backends.pci import allowed_devices
from cimprovider.schemas.devices import PciDevice
from cimprovider.schemas.host import HostPciDevice


def host_pci_devices(conn: libvirt.virConnect, allowed: Sequence[str]) -> tuple[HostPciDevice, ...]:
    """The node devices the admin allowed, as the host describes them."""
    if not allowed:
        return ()
    found = []
    for node in conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV):
        capability = etree.fromstring(node.XMLDesc(0)).find("capability[@type='pci']")
        if capability is not None:
            found.append(_described(capability))
    return allowed_devices(found, allowed)


def _described(capability: etree._Element) -> HostPciDevice:
    def number(tag: str) -> int:
        return int(capability.findtext(tag) or "0", 0)

    address = f"{number('domain'):04x}:{number('bus'):02x}:{number('slot'):02x}.{number('function'):x}"
    vendor, product = capability.find("vendor"), capability.find("product")
    return HostPciDevice(
        address=address,
        vendor_id=_hex4(vendor.get("id") if vendor is not None else None),
        product_id=_hex4(product.get("id") if product is not None else None),
        name=" ".join(part for part in (vendor.text if vendor is not None else "", product.text if product is not None else "") if part),
    )


def _hex4(text: str | None) -> str:
    return f"{int(text or '0', 16):04X}"


def hostdev_element(device: PciDevice) -> etree._Element:
    domain, bus, rest = device.address.split(":")
    slot, function = rest.split(".")
    element = etree.Element("hostdev", mode="subsystem", type="pci", managed="yes")
    source = etree.SubElement(element, "source")
    etree.SubElement(source, "address", domain=f"0x{domain}", bus=f"0x{bus}", slot=f"0x{slot}", function=f"0x{function}")
    etree.SubElement(element, "alias", name=alias_of(device.id))
    return element


def is_pci_hostdev(element: etree._Element) -> bool:
    return element.get("mode") == "subsystem" and element.get("type") == "pci"


def hostdev_key(element: etree._Element) -> str:
    return f"hostdev/pci/{_address_of(element)}"


def read_pci_devices(vm_id: UUID, live: etree._Element) -> tuple[PciDevice, ...]:
    found = []
    for element in live.iterfind("devices/hostdev"):
        address = _address_of(element) if is_pci_hostdev(element) else None
        if address:
            found.append(PciDevice(id=device_id(vm_id, element, hostdev_key(element)), address=address))
    return tuple(found)


def _address_of(element: etree._Element) -> str | None:
    address = element.find("source/address")
    if address is None:
        return None
    try:
        parts = [int(address.get(name, "0"), 0) for name in ("domain", "bus", "slot", "function")]
    except ValueError:
        return None
    return f"{parts[0]:04x}:{parts[1]:02x}:{parts[2]:02x}.{parts[3]:x}"
