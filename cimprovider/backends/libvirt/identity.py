"""Stable GUIDs for libvirt devices, and the names libvirt needs.

Hyper-V InstanceIDs carry a device GUID, so a device must keep its id for
as long as it exists. Devices we write carry it in a user alias
(`<alias name='ua-<guid>'/>`), which libvirt keeps with the device and
which `virsh detach-device-alias` understands. A device defined with virsh
has no such alias; its id is derived from the VM's id and what identifies
the device to libvirt (the disk's target, the NIC's MAC…), so it is the
same on every read, and becomes an alias the first time we rewrite it.
"""

from __future__ import annotations

import random
import re
from uuid import UUID, uuid5

from lxml import etree

ALIAS_PREFIX = "ua-"
# The namespace of ids derived for switches behind plain host bridges.
BRIDGE_NAMESPACE = UUID("6f1c2f1e-8a59-4a43-9f39-5f4f1f0b6b59")
_DOMAIN_NAME_UNSAFE = re.compile(r"[/\x00-\x1f]")


def alias_of(device_id: UUID) -> str:
    return f"{ALIAS_PREFIX}{device_id}"


def id_from_alias(element: etree._Element) -> UUID | None:
    alias = element.find("alias")
    name = alias.get("name", "") if alias is not None else ""
    if name.startswith(ALIAS_PREFIX):
        try:
            return UUID(name[len(ALIAS_PREFIX):])
        except ValueError:
            return None
    return None


def device_id(vm_id: UUID, element: etree._Element, key: str) -> UUID:
    """The id in the element's alias, else the one derived from `key`."""
    return id_from_alias(element) or uuid5(vm_id, key)


def derived_id(vm_id: UUID, key: str) -> UUID:
    return uuid5(vm_id, key)


def bridge_switch_id(bridge: str) -> UUID:
    return uuid5(BRIDGE_NAMESPACE, bridge)


def disk_target(prefix: str, index: int) -> str:
    """`sd` + 0 → `sda`, 25 → `sdz`, 26 → `sdaa`: libvirt's own naming."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return prefix + letters


def disk_index(target: str) -> int:
    """The inverse of `disk_target` for the letters after a two-letter prefix."""
    index = 0
    for char in target[2:]:
        if not "a" <= char <= "z":
            return 0
        index = index * 26 + (ord(char) - ord("a") + 1)
    return max(0, index - 1)


def domain_name_for(element_name: str) -> str:
    """libvirt refuses '/' and control characters in a domain name."""
    return _DOMAIN_NAME_UNSAFE.sub("-", element_name).strip() or "vm"


def libvirt_mac(mac: str) -> str:
    """`525400A1B2C3` → `52:54:00:a1:b2:c3`."""
    return ":".join(mac[i : i + 2] for i in range(0, 12, 2)).lower()


def model_mac(mac: str) -> str:
    return mac.replace(":", "").replace("-", "").upper()


def random_mac(taken: set[str]) -> str:
    """A locally administered address in QEMU's 52:54:00 range, unused on the host."""
    while True:
        mac = "525400" + "".join(f"{random.randrange(256):02X}" for _ in range(3))
        if mac not in taken:
            return mac
