"""Changing a running guest's network adapter. Its link state and port
features change in place (updateDevice). A move to another switch, or off
any switch, unplugs the adapter and plugs it in again on the new one: QEMU
under libvirt may accept an in-place change of network and then leave the
guest writing to a tap no bridge reads, so a move is never done in place.
The adapter keeps its MAC address and PCI slot, so the guest finds the
same NIC again."""

from __future__ import annotations

import time

import libvirt
from lxml import etree

from cimprovider.backends.errors import InvalidStateError

LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
RELEASE_SECONDS = 30.0


def _xml(element: etree._Element) -> str:
    return etree.tostring(element, encoding="unicode")


def change_interface(domain: libvirt.virDomain, current: etree._Element, wanted: etree._Element, moved: bool) -> None:
    if not moved:
        try:
            domain.updateDeviceFlags(_xml(wanted), LIVE)
            return
        except libvirt.libvirtError:
            pass  # a change QEMU cannot make in place (a filter): plugged again below
    replug(domain, current, wanted)


def replug(domain: libvirt.virDomain, current: etree._Element, wanted: etree._Element) -> None:
    alias = current.find("alias").get("name") if current.find("alias") is not None else None
    domain.detachDeviceFlags(_xml(current), LIVE)
    deadline = time.monotonic() + RELEASE_SECONDS
    while alias is not None and _has_alias(domain, alias):
        if time.monotonic() > deadline:
            raise InvalidStateError(
                f"the guest did not release network adapter {alias} within {RELEASE_SECONDS:.0f} s; it stays where it was"
            )
        time.sleep(0.2)
    fresh = etree.fromstring(_xml(wanted))
    for target in fresh.findall("target"):  # the old tap is gone; libvirt makes a new one
        fresh.remove(target)
    domain.attachDeviceFlags(_xml(fresh), LIVE)


def _has_alias(domain: libvirt.virDomain, alias: str) -> bool:
    live = etree.fromstring(domain.XMLDesc(0))
    return any(element.get("name") == alias for element in live.iterfind("devices/interface/alias"))
