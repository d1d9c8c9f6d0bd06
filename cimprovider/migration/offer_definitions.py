"""The hypervisor's own description of an offered VM (a libvirt domain's
XML, and its snapshots'), which a destination of that kind defines as it
comes, with only its disks' files placed. Whoever calls PrepareIncoming
wrote it, so it may name no more than the offer's files let the VM have:
every disk a file the offer carries or the hypervisor brings, and none
of what reaches the host past the storage roots — a block device or a
network disk, a host PCI or USB device or folder, shared memory, a log
file, or QEMU's own command line (an element of a namespace of its own,
outside `<metadata>`), nor a device whose backend reaches the host (a
display's socket, a host TPM, input device or sound device, a network
script: offer_host_devices), nor choose how the destination confines
QEMU (offer_confinement). Such an offer is refused naming what it
asked for. A kernel to boot, firmware, and a serial port on a host file
are taken only where the destination lets offers name them
(offer_host_files)."""

from __future__ import annotations

from lxml import etree

from cimprovider.backends.images import StorageRoots
from cimprovider.migration.offer_confinement import confinement_reasons
from cimprovider.migration.offer_host_devices import host_device_reasons
from cimprovider.migration.offer_host_files import host_file_reasons
from cimprovider.schemas.migration import MigrationOffer

# Devices and boot files a destination gives only through its own settings.
_HOST_REACHING = ("hostdev", "filesystem", "redirdev", "shmem", "smartcard")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)


def definition_reasons(offer: MigrationOffer, host_files: StorageRoots | None = None) -> list[str]:
    """Why the offer's definitions cannot be taken (empty: they can);
    `host_files` where the boot, firmware and character device files they
    name may lie (see offer_host_files), none when not checked."""
    record = offer.record
    texts = ([record.definition] if record.definition else []) + list(record.snapshot_definitions)
    offered = {slot.path for slot in offer.files} | {disk.path for disk in offer.disks}
    found: list[str] = []
    for text in texts:
        try:
            root = etree.fromstring(text.encode(), _PARSER)
        except etree.XMLSyntaxError as error:
            found.append(f"the VM's hypervisor definition is not XML: {error}")
            continue
        found += _reasons(root, record.placed_paths, offered)
        for domain in [root] if root.tag == "domain" else root.iter("domain"):
            found += host_device_reasons(domain)
            found += confinement_reasons(domain)
            if host_files is not None:
                found += host_file_reasons(domain, host_files)
    return list(dict.fromkeys(found))


def _reasons(root: etree._Element, placed: dict[str, str], offered: set[str]) -> list[str]:
    found: list[str] = []
    for element in root.iter(etree.Element):
        name = etree.QName(element)
        if name.namespace is not None and not any(a.tag == "metadata" for a in element.iterancestors()):
            found.append(f"the VM's definition carries <{name.localname}> of {name.namespace}: "
                         "hypervisor extensions are not taken from an offer")
        elif name.localname in _HOST_REACHING and name.namespace is None:
            found.append(f"the VM's definition asks for a <{name.localname}>: a destination gives that only by its own settings")
        elif name.localname == "log" and element.get("file"):
            found.append(f"the VM's definition logs to the host file {element.get('file')}")
    for disk in root.iter("disk"):
        found += _disk_reasons(disk, placed, offered)
    for memory in root.iter("memory"):
        if memory.get("file") and placed.get(memory.get("file"), memory.get("file")) not in offered:
            found.append(f"{memory.get('file')}: the VM's definition keeps memory in a file the offer does not carry")
    return found


def _disk_reasons(disk: etree._Element, placed: dict[str, str], offered: set[str]) -> list[str]:
    kind = disk.get("type")
    if kind not in (None, "file"):
        return [f"the VM's definition has a {kind} disk: only disk files the offer carries are taken"]
    found = []
    for source in [disk.find("source"), *disk.iterfind(".//backingStore/source")]:
        if source is None:
            continue
        others = [a for a in ("dev", "dir", "pool", "volume", "protocol", "name") if source.get(a)]
        if others:
            found.append(f"the VM's definition names a disk by {others[0]} {source.get(others[0])!r}: only files are taken")
        path = source.get("file")
        if path and placed.get(path, path) not in offered:
            found.append(f"{path}: a disk of the VM's definition that the offer does not carry")
    return found
