"""A generation 2 VM's boot order as libvirt's per-device `<boot order=N>`
on its disks and interfaces (libvirt refuses it beside `<os><boot dev>`,
which generation 1's BIOS order uses). The order itself is the VM's
(`VirtualMachine.boot_devices`); devices libvirt does not have yet (a
drive without media) are skipped, the others numbered from 1."""

from __future__ import annotations

from lxml import etree

from cimprovider.backends.libvirt.identity import alias_of
from cimprovider.schemas.vm import VirtualMachine


def write_device_boot_order(root: etree._Element, vm: VirtualMachine) -> None:
    os = root.find("os")
    if vm.generation != 2 or (os is not None and os.find("kernel") is not None):
        return  # generation 1 boots by <os><boot dev>; a direct kernel boot is not ours to change
    devices = root.find("devices")
    if devices is None:
        return
    elements = {
        alias.get("name"): element
        for element in (*devices.findall("disk"), *devices.findall("interface"))
        if (alias := element.find("alias")) is not None
    }
    owned = {alias_of(device.id) for device in vm.boot_devices()}
    for name, element in elements.items():
        if name in owned:
            for old in element.findall("boot"):
                element.remove(old)
    for old in os.findall("boot") if os is not None else ():
        os.remove(old)
    order = 1
    for device in vm.boot_devices():
        element = elements.get(alias_of(device.id))
        if element is not None:
            etree.SubElement(element, "boot", order=str(order))
            order += 1
