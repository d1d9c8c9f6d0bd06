"""A generation 2 VM's UEFI firmware: secure boot on or off, and the keys
it trusts, as libvirt's firmware autoselection features (libvirt picks the
OVMF build and variable store that have them).

Both Hyper-V templates map to OVMF's Microsoft-enrolled variable store,
the only one OVMF's packagers ship with Microsoft's keys: it trusts the
Microsoft UEFI Certificate Authority as well as Windows, so on KVM the
Microsoft Windows template also admits what that authority signed. The
template itself is kept in our metadata and shown back as set."""

from __future__ import annotations

from lxml import etree

from cimprovider.schemas.vm import VirtualMachine

SECURE_BOOT_FEATURES = ("secure-boot", "enrolled-keys")


def write_firmware(root: etree._Element, vm: VirtualMachine) -> None:
    os = root.find("os")
    if vm.generation != 2 or os is None:
        return
    loader = os.find("loader")
    if loader is not None and (loader.text or "").strip():
        # A firmware file chosen by hand: only say whether it boots securely.
        loader.set("secure", "yes" if vm.secure_boot_enabled else "no")
        return
    os.set("firmware", "efi")
    firmware = os.find("firmware")
    if firmware is None:
        firmware = etree.Element("firmware")
        os.find("type").addnext(firmware) if os.find("type") is not None else os.insert(0, firmware)  # type: ignore[func-returns-value]
    for name in SECURE_BOOT_FEATURES:
        feature = firmware.find(f"feature[@name='{name}']")
        if feature is None:
            feature = etree.SubElement(firmware, "feature", name=name)
        feature.set("enabled", "yes" if vm.secure_boot_enabled else "no")
    if loader is not None and not loader.attrib.keys() - {"secure"}:
        os.remove(loader)  # libvirt refuses a loader's secure flag beside autoselection; the features say it
    if vm.secure_boot_enabled:
        # QEMU keeps the secure variable store out of the guest's reach only in SMM.
        features = root.find("features")
        if features is None:
            features = etree.SubElement(root, "features")
        smm = features.find("smm")
        if smm is None:
            smm = etree.SubElement(features, "smm")
        smm.set("state", "on")
