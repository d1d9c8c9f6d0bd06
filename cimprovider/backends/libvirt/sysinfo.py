"""The guest's SMBIOS strings (Hyper-V's BIOS, base board and chassis
serial numbers and the chassis asset tag) as libvirt's `<sysinfo>`, which
QEMU passes to the guest with -smbios."""

from __future__ import annotations

from lxml import etree

from cimprovider.schemas.vm import VirtualMachine

# Our SMBIOS strings: (sysinfo block, entry name) -> the VM's field.
SMBIOS_ENTRIES = {
    ("system", "serial"): "bios_serial_number",
    ("baseBoard", "serial"): "baseboard_serial_number",
    ("chassis", "serial"): "chassis_serial_number",
    ("chassis", "asset"): "chassis_asset_tag",
}
SYSINFO_ORDER = ("bios", "system", "baseBoard", "chassis")


def write_smbios(root: etree._Element, vm: VirtualMachine) -> None:
    """The guest's serial numbers and asset tag as libvirt's SMBIOS
    sysinfo (QEMU's -smbios), leaving entries the model does not know."""
    sysinfo = root.find("sysinfo[@type='smbios']")
    wanted = {place: getattr(vm, field) for place, field in SMBIOS_ENTRIES.items()}
    if sysinfo is None and not any(wanted.values()):
        return
    if sysinfo is None:
        sysinfo = etree.SubElement(root, "sysinfo", type="smbios")
    for (block_name, entry_name), text in wanted.items():
        block = sysinfo.find(block_name)
        entry = block.find(f"entry[@name='{entry_name}']") if block is not None else None
        if entry is not None:
            block.remove(entry)  # type: ignore[union-attr]
        if text:
            if block is None:
                block = etree.Element(block_name)
                later = [child for child in sysinfo if child.tag in SYSINFO_ORDER[SYSINFO_ORDER.index(block_name) + 1:]]
                (later[0].addprevious(block) if later else sysinfo.append(block))
            etree.SubElement(block, "entry", name=entry_name).text = text
        if block is not None and len(block) == 0:
            sysinfo.remove(block)
    if len(sysinfo) == 0:
        root.remove(sysinfo)
        for smbios in root.findall("os/smbios[@mode='sysinfo']"):
            smbios.getparent().remove(smbios)  # type: ignore[union-attr]
        return
    os = root.find("os")
    if os is None:
        os = etree.SubElement(root, "os")
    if os.find("smbios") is None:
        etree.SubElement(os, "smbios", mode="sysinfo")
