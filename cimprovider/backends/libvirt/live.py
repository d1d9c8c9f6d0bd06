"""Carrying a change into a running domain.

The persistent definition is always rewritten whole (see `domain_write`);
a running guest additionally needs the change made live, one libvirt call
per device: attach, detach or update. Hyper-V's hot-plug rules have already
narrowed what can reach here to what Hyper-V does live.
"""

from __future__ import annotations

from uuid import UUID

import libvirt
from lxml import etree

from cimprovider.backends.errors import InvalidStateError
from cimprovider.backends.hotplug import AnyDevice
from cimprovider.backends.libvirt.domain_write import (
    DiskFormat,
    SwitchSource,
    dimm_element,
    disk_element,
    interface_element,
    merged,
    serial_element,
)
from cimprovider.backends.libvirt.identity import device_id, model_mac
from cimprovider.backends.libvirt.live_interfaces import change_interface
from cimprovider.backends.placement import all_devices
from cimprovider.schemas.devices import IOPS_UNIT_BYTES, Drive, DriveType, NetworkAdapter, SerialPort
from cimprovider.schemas.vm import VirtualMachine

LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE


def apply_live(
    domain: libvirt.virDomain, old: VirtualMachine, new: VirtualMachine, switches: SwitchSource, formats: DiskFormat
) -> None:
    if new.processor.count != old.processor.count:
        domain.setVcpusFlags(new.processor.count, LIVE)
    live = etree.fromstring(domain.XMLDesc(0))
    if new.memory.startup_mb != old.memory.startup_mb:
        _resize_memory(domain, live, new.memory.startup_mb)
        live = etree.fromstring(domain.XMLDesc(0))
    before = {device.id: device for device in all_devices(old)}
    after = {device.id: device for device in all_devices(new)}
    for key, device in before.items():
        if key not in after and _present(device):
            domain.detachDeviceFlags(_xml(_live_element(live, old.id, device)), LIVE)
    for key, device in after.items():
        previous = before.get(key)
        if previous is None:
            if _present(device):
                domain.attachDeviceFlags(_xml(_element(new, device, switches, formats)), LIVE)
        elif previous != device:
            _change(domain, live, old, new, previous, device, switches, formats)


def _change(
    domain: libvirt.virDomain,
    live: etree._Element,
    old: VirtualMachine,
    new: VirtualMachine,
    previous: AnyDevice,
    device: AnyDevice,
    switches: SwitchSource,
    formats: DiskFormat,
) -> None:
    if isinstance(device, Drive) and isinstance(previous, Drive):
        if device.drive_type is DriveType.DVD and previous.drive_type is DriveType.DVD and device.slot == previous.slot:
            if device.media != previous.media:
                current = _live_element(live, old.id, previous)
                domain.updateDeviceFlags(_xml(merged(current, _element(new, device, switches, formats))), LIVE)
            return
        if _only_iops_changed(previous, device):
            assert device.media is not None
            target = _live_element(live, old.id, previous).find("target")
            size = IOPS_UNIT_BYTES if device.media.iops_limit else 0
            domain.setBlockIoTune(target.get("dev"), {"total_iops_sec": device.media.iops_limit, "size_iops_sec": size}, LIVE)  # type: ignore[union-attr]
            return
        if (previous.media, previous.slot, previous.controller_id) == (device.media, device.slot, device.controller_id):
            return  # its name: ours alone
        if _present(previous):
            domain.detachDeviceFlags(_xml(_live_element(live, old.id, previous)), LIVE)
        if _present(device):
            domain.attachDeviceFlags(_xml(_element(new, device, switches, formats)), LIVE)
    elif isinstance(device, NetworkAdapter) and isinstance(previous, NetworkAdapter):
        port = ("switch_id", "connected", "mac_address", "vlan", "security", "bandwidth")
        if any(getattr(device, name) != getattr(previous, name) for name in port):
            current = _live_element(live, old.id, previous)
            wanted = merged(current, _element(new, device, switches, formats))
            change_interface(domain, current, wanted, moved=device.switch_id != previous.switch_id)
    elif isinstance(device, SerialPort) and isinstance(previous, SerialPort):
        if device.pipe_name != previous.pipe_name:
            current = _live_element(live, old.id, previous)
            domain.updateDeviceFlags(_xml(merged(current, serial_element(device))), LIVE)
    # Processor and memory tuning, names and integration services live in
    # our metadata only.


def _only_iops_changed(previous: Drive, device: Drive) -> bool:
    if previous.media is None or device.media is None or previous.media == device.media:
        return False
    same_place = (previous.slot, previous.controller_id) == (device.slot, device.controller_id)
    return same_place and previous.media.replace(iops_limit=device.media.iops_limit) == device.media


def _resize_memory(domain: libvirt.virDomain, live: etree._Element, wanted_mb: int) -> None:
    """Within what the guest has, the balloon; beyond it, a memory module
    (DIMM) hot-added into a free slot, as Hyper-V's dynamic memory adds."""
    plugged = _mb(live.find("memory"))
    if wanted_mb > plugged:
        if live.find("maxMemory") is None:
            raise InvalidStateError(
                f"cannot grow the running VM's memory to {wanted_mb} MB: it has {plugged} MB and no memory slots;"
                " turn it off to change its memory"
            )
        domain.attachDeviceFlags(_xml(dimm_element(wanted_mb - plugged)), LIVE)
    domain.setMemoryFlags(wanted_mb * 1024, LIVE)


def _mb(element: etree._Element | None) -> int:
    unit = {"kib": 1024, "k": 1024, "mib": 1, "m": 1, "gib": 1 / 1024, "g": 1 / 1024, "b": 1024 * 1024, "bytes": 1024 * 1024}
    if element is None or not (element.text or "").strip():
        return 0
    return int(int(element.text.strip()) / unit.get(element.get("unit", "KiB").lower(), 1024))


def _present(device: AnyDevice) -> bool:
    """Whether the device exists for libvirt (a disk drive without media is ours alone)."""
    if isinstance(device, Drive):
        return device.media is not None or device.drive_type is DriveType.DVD
    return isinstance(device, (NetworkAdapter,))


def _element(vm: VirtualMachine, device: AnyDevice, switches: SwitchSource, formats: DiskFormat) -> etree._Element:
    if isinstance(device, Drive):
        return disk_element(vm, device, formats)
    if isinstance(device, NetworkAdapter):
        return interface_element(device, switches)
    raise AssertionError(f"no live element for {device.kind.value}")


def _live_element(live: etree._Element, vm_id: UUID, device: AnyDevice) -> etree._Element:
    if isinstance(device, Drive):
        for element in live.iterfind("devices/disk"):
            target = element.find("target")
            if target is not None and device_id(vm_id, element, f"disk/{target.get('dev')}") == device.id:
                return element
    elif isinstance(device, NetworkAdapter):
        for element in live.iterfind("devices/interface"):
            mac = element.find("mac")
            key = f"nic/{model_mac(mac.get('address', '')) if mac is not None else ''}"
            if device_id(vm_id, element, key) == device.id:
                return element
    elif isinstance(device, SerialPort):
        for element in live.iterfind("devices/serial"):
            target = element.find("target")
            port = int(target.get("port", "0")) if target is not None else 0
            if device_id(vm_id, element, f"serial/{port}") == device.id:
                return element
    raise LookupError(f"the running domain has no device {device.id}")


def _xml(element: etree._Element) -> str:
    return etree.tostring(element, encoding="unicode")
