"""The host files a KVM offer's definition names beside its disks: a
kernel, initrd or device tree to boot directly, the firmware (<loader>),
its variable store (<nvram>) and the template that store is copied from,
and the file, pipe, device or UNIX socket behind a serial, parallel,
console or channel device. The destination's QEMU reads or writes each
as they come, so an offer could have it write a host file through a
serial port, or read one as a kernel or firmware; each must lie in the
destination's storage roots, its data directory, or a folder its
configuration lets offers name (`migration_host_paths`), else the offer
is refused naming the element and the path.

The host's own firmware is taken too, as a VM this server defined
(generation 2) names it: a read-only loader or a variable store template
the distribution installed (under /usr/share), and a variable store
where libvirt keeps the VM's own (its `<name>_VARS.fd` in libvirt's NVRAM
folder); and a channel's socket libvirt makes for the VM in its own
channel folder (the guest agent's)."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from cimprovider.backends.images import StorageRoots

_BOOT_FILES = ("kernel", "initrd", "dtb")
_CHARACTER_DEVICES = ("serial", "parallel", "console", "channel")
_PATH_CHARACTER_TYPES = ("file", "pipe", "dev", "unix")
DISTRIBUTION_FIRMWARE = Path("/usr/share")
LIBVIRT_NVRAM = Path("/var/lib/libvirt/qemu/nvram")
LIBVIRT_CHANNELS = Path("/var/lib/libvirt/qemu/channel")


def host_file_reasons(root: etree._Element, allowed: StorageRoots) -> list[str]:
    """Why the definition's boot, firmware and character device files
    cannot be taken here (empty: they can)."""
    found = []
    for element, what, path in _named_files(root):
        if path not in allowed and not _hosts_own(root, element, what, path):
            found.append(f"the VM's definition names {path} for its {what}: only files in this host's storage "
                         "roots, its data directory or its migration_host_paths are taken")
    return found


def _named_files(root: etree._Element) -> list[tuple[etree._Element, str, str]]:
    """(the element, what names the file, the path) for each file named."""
    named = []
    os = root.find("os")
    for element in os.iterfind("*") if os is not None else ():
        if element.tag in (*_BOOT_FILES, "loader", "nvram") and (element.text or "").strip():
            named.append((element, f"<{element.tag}>", element.text.strip()))
        if element.tag == "nvram" and element.get("template"):
            named.append((element, "<nvram> template", element.get("template")))
    devices = root.find("devices")
    for element in devices.iter(*_CHARACTER_DEVICES) if devices is not None else ():
        if element.get("type") in _PATH_CHARACTER_TYPES:
            named += [(element, f"<{element.tag} type='{element.get('type')}'>", source.get("path"))
                      for source in element.iterfind("source") if source.get("path")]
    return named


def _hosts_own(root: etree._Element, element: etree._Element, what: str, path: str) -> bool:
    """The host's own firmware, or the store and socket libvirt keeps for this VM."""
    place = Path(path)
    if not place.is_absolute() or ".." in place.parts:
        return False
    if element.tag == "loader":
        return element.get("readonly") == "yes" and place.is_relative_to(DISTRIBUTION_FIRMWARE)
    if what == "<nvram> template":
        return place.is_relative_to(DISTRIBUTION_FIRMWARE)
    if element.tag == "nvram":
        return place == LIBVIRT_NVRAM / f"{root.findtext('name') or ''}_VARS.fd"
    if element.tag == "channel" and element.get("type") == "unix":
        source = element.find("source")
        return place.is_relative_to(LIBVIRT_CHANNELS) and source is not None and source.get("mode") == "bind"
    return False
