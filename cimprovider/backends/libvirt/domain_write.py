"""`VirtualMachine` → domain XML.

A VM is written onto the domain's current definition rather than from
scratch: whatever the model does not describe (an emulator, a direct
kernel boot, graphics, a disk's cache mode, a virtio disk defined with
virsh) stays as it was. Devices are matched by id (see `identity`), updated
in place, added or removed.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from uuid import UUID

from lxml import etree

from cimprovider.backends.libvirt.disk_images import suffix_format
from cimprovider.backends.libvirt.display import write_display
from cimprovider.backends.libvirt.boot import write_device_boot_order
from cimprovider.backends.libvirt.firmware import write_firmware
from cimprovider.backends.libvirt.numa import write_numa
from cimprovider.backends.libvirt.pci_devices import hostdev_element, hostdev_key, is_pci_hostdev
from cimprovider.backends.libvirt.sysinfo import write_smbios
from cimprovider.backends.libvirt.identity import alias_of, device_id, disk_target, libvirt_mac, model_mac
from cimprovider.backends.libvirt.metadata import (
    NAMESPACE,
    SETTING_FIELDS,
    HyperVExtras,
    PendingDrive,
    find_extras,
    parse_extras,
    render_extras,
    setting_text,
    text_value,
)
from cimprovider.backends.libvirt.port_features import FEATURE_TAGS, append_features, stored_features
from cimprovider.schemas.devices import (
    IOPS_UNIT_BYTES,
    AdapterType,
    Controller,
    ControllerType,
    Drive,
    DriveType,
    MemorySettings,
    NetworkAdapter,
    ProcessorSettings,
    SerialPort,
)
from cimprovider.schemas.vm import BootDevice, VirtualMachine

# switch id → ("network", name) or ("bridge", name); None when unknown.
SwitchSource = Callable[[UUID], tuple[str, str] | None]
# image path → QEMU's driver format ("qcow2", "vpc", "raw"); see disk_images.
DiskFormat = Callable[[str], str]

PIPE_DIRECTORY = "/var/lib/libvirt/qemu"
BOOT_DEVICES = {BootDevice.CD: "cdrom", BootDevice.IDE: "hd", BootDevice.SCSI: "hd", BootDevice.NETWORK: "network", BootDevice.FLOPPY: "fd"}
_PIPE_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def new_domain(vm: VirtualMachine, domain_type: str, domain_name: str, max_vcpus: int) -> etree._Element:
    """The skeleton of a new domain: Hyper-V's generation 1 is a PC with
    BIOS and IDE, generation 2 a Q35 with UEFI. ACPI is on because
    Hyper-V's shutdown is a soft one."""
    machine, firmware = ("q35", " firmware='efi'") if vm.generation == 2 else ("pc", "")
    root = etree.fromstring(
        f"<domain type='{domain_type}'><name/><uuid>{vm.id}</uuid><memory/><currentMemory/>"
        f"<vcpu placement='static'>{max(max_vcpus, vm.processor.count)}</vcpu>"
        f"<os{firmware}><type arch='x86_64' machine='{machine}'>hvm</type></os>"
        "<features><acpi/><apic/></features><clock offset='utc'/>"
        "<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>"
        # A display, as every Hyper-V VM has: its screen is reached through
        # the server's console (openGraphicsFD), so VNC listens nowhere.
        "<devices><graphics type='vnc'><listen type='none'/></graphics><video><model type='vga'/></video></devices>"
        "</domain>"
    )
    root.find("name").text = domain_name  # type: ignore[union-attr]
    return root  # write_domain adds the firmware's secure boot settings


def write_domain(
    vm: VirtualMachine, base: etree._Element, domain_name: str, switches: SwitchSource, formats: DiskFormat = suffix_format
) -> etree._Element:
    root = copy.deepcopy(base)
    _child(root, "name").text = domain_name
    _child(root, "uuid").text = str(vm.id)
    write_processor(root, vm.processor)
    write_memory(root, vm.memory)
    numa_cells = write_numa(root, vm, parse_extras(find_extras(base)).numa_cells)
    _write_boot_order(root, vm)
    write_smbios(root, vm)
    write_firmware(root, vm)
    metadata = _child(root, "metadata")
    for old in metadata.findall(f"{{{NAMESPACE}}}vm"):
        metadata.remove(old)
    extras = extras_for(vm, domain_name)
    extras.numa_cells = numa_cells
    metadata.append(render_extras(extras))
    devices = _child(root, "devices")
    _sync(devices, "controller[@type='scsi']", lambda e: f"controller/scsi/{e.get('index')}", vm.id,
          {c.id: controller_element(c) for c in vm.controllers if c.controller_type is ControllerType.SCSI})
    _sync(devices, "disk", _disk_key, vm.id,
          {d.id: disk_element(vm, d, formats) for d in vm.drives if d.media is not None or d.drive_type is DriveType.DVD},
          only=_is_model_disk)
    _sync(devices, "interface", _nic_key, vm.id, {n.id: interface_element(n, switches) for n in vm.network_adapters})
    _sync(devices, "serial", lambda e: f"serial/{_port(e)}", vm.id, {p.id: _serial(devices, p) for p in vm.serial_ports},
          only=lambda e: _port(e) <= 1)
    _sync(devices, "hostdev", hostdev_key, vm.id, {p.id: hostdev_element(p) for p in vm.pci_devices}, only=is_pci_hostdev)
    write_device_boot_order(root, vm)
    write_display(devices, vm)
    return root


MEMORY_SLOTS = 16
HOT_ADD_DOMAIN_TYPES = ("kvm", "qemu")


def write_memory(root: etree._Element, memory: MemorySettings) -> None:
    """Static memory is what the guest boots with. Dynamic memory boots
    with its startup amount and may grow to its maximum while running, as
    Hyper-V's does: QEMU adds memory modules (DIMMs) into the slots
    `maxMemory` reserves, which needs the memory in a NUMA cell. Other
    drivers (libvirt's test driver) boot with the maximum and balloon."""
    slots = memory.dynamic_enabled and root.get("type") in HOT_ADD_DOMAIN_TYPES
    booted = memory.startup_mb if slots or not memory.dynamic_enabled else memory.maximum_mb
    for tag, mb in (("memory", booted), ("currentMemory", memory.startup_mb)):
        element = _child(root, tag)
        element.attrib.clear()
        element.set("unit", "KiB")
        element.text = str(mb * 1024)
    cell = root.find("cpu/numa/cell")
    if not slots or len(root.findall("cpu/numa/cell")) > 1:
        old = root.find("maxMemory")
        if old is not None and not memory.dynamic_enabled:
            root.remove(old)
        if cell is not None and len(root.findall("cpu/numa/cell")) == 1:
            cell.set("memory", str(booted * 1024))
            cell.set("unit", "KiB")
        return
    maximum = _child(root, "maxMemory")
    maximum.attrib.clear()
    maximum.set("slots", str(MEMORY_SLOTS))
    maximum.set("unit", "KiB")
    maximum.text = str(memory.maximum_mb * 1024)
    if cell is None:
        numa = _child(_child(root, "cpu"), "numa")
        cell = etree.SubElement(numa, "cell", id="0")
    vcpus = int((root.findtext("vcpu") or "1").strip() or 1)
    cell.set("cpus", f"0-{vcpus - 1}" if vcpus > 1 else "0")
    cell.set("memory", str(memory.startup_mb * 1024))
    cell.set("unit", "KiB")


def dimm_element(size_mb: int) -> etree._Element:
    element = etree.Element("memory", model="dimm")
    target = etree.SubElement(element, "target")
    etree.SubElement(target, "size", unit="KiB").text = str(size_mb * 1024)
    etree.SubElement(target, "node").text = "0"
    return element


def write_processor(root: etree._Element, processor: ProcessorSettings) -> None:
    vcpu = _child(root, "vcpu")
    maximum = max(int((vcpu.text or "0").strip() or 0), processor.count)
    vcpu.text = str(maximum)
    if processor.count < maximum:
        vcpu.set("current", str(processor.count))
    else:
        vcpu.attrib.pop("current", None)


def _write_boot_order(root: etree._Element, vm: VirtualMachine) -> None:
    os = _child(root, "os")
    if vm.generation != 1 or os.find("kernel") is not None or root.find("devices//boot") is not None:
        return  # direct kernel boot or per-device boot order: not ours to change
    for old in os.findall("boot"):
        os.remove(old)
    seen = set()
    position = list(os).index(os.find("type")) + 1 if os.find("type") is not None else 0
    for device in vm.boot_order:
        dev = BOOT_DEVICES[device]
        if dev not in seen:
            seen.add(dev)
            os.insert(position, etree.Element("boot", dev=dev))
            position += 1


def extras_for(vm: VirtualMachine, domain_name: str) -> HyperVExtras:
    extras = HyperVExtras(
        element_name=vm.name if vm.name != domain_name else None,
        paired_domain_name=domain_name,
        settings={name: text for name in SETTING_FIELDS if (text := setting_text(name, getattr(vm, name))) is not None},
        processor=_attributes(vm.processor, {"kind", "id", "count"}),
        memory=_attributes(vm.memory, {"kind", "id", "startup_mb"} | ({"maximum_mb"} if vm.memory.dynamic_enabled else set())),
        integration_services={s.service.value: s.enabled for s in vm.integration_services},
        kvp_items=list(vm.kvp_items),
    )
    if vm.generation == 1:
        extras.ide_controllers = [
            {"id": str(c.id), "number": str(c.number), "name": c.name}
            for c in vm.controllers
            if c.controller_type is ControllerType.IDE
        ]
    for controller in vm.controllers:
        if controller.controller_type is ControllerType.SCSI and controller.name:
            extras.devices[controller.id] = {"name": controller.name}
    for drive in vm.drives:
        stored = {"name": drive.name}
        if drive.media is not None:
            stored |= {"media_id": str(drive.media.id), "media_path": drive.media.path}
            if drive.media.attached_path:
                stored["attached_path"] = drive.media.attached_path
        elif drive.drive_type is DriveType.DISK:
            assert drive.slot is not None
            extras.pending_drives.append(PendingDrive(drive.id, drive.controller_id, drive.slot, drive.drive_type, drive.name))
            continue
        extras.devices[drive.id] = stored
    for nic in vm.network_adapters:
        extras.devices[nic.id] = {"name": nic.name, "static_mac": text_value(nic.static_mac), **stored_features(nic)}
    for port in vm.serial_ports:
        if port.pipe_name:
            extras.devices[port.id] = {"pipe_name": port.pipe_name}
    return extras


def _attributes(model: object, exclude: set[str]) -> dict[str, str]:
    fields = type(model).model_fields  # type: ignore[attr-defined]
    return {name: text_value(getattr(model, name)) for name in fields if name not in exclude and getattr(model, name) is not None}


# device elements --------------------------------------------------------


def controller_element(controller: Controller) -> etree._Element:
    element = etree.Element("controller", type="scsi", index=str(controller.number), model="virtio-scsi")
    etree.SubElement(element, "alias", name=alias_of(controller.id))
    return element


def disk_element(vm: VirtualMachine, drive: Drive, formats: DiskFormat = suffix_format) -> etree._Element:
    controller = vm.controller(drive.controller_id)
    assert controller is not None and controller.number is not None and drive.slot is not None
    cdrom = drive.drive_type is DriveType.DVD
    path = drive.media.path if drive.media else None
    passthrough = drive.media is not None and drive.media.passthrough
    block = passthrough or (path is not None and path.startswith("/dev/"))
    element = etree.Element("disk", type="block" if block else "file", device="cdrom" if cdrom else "disk")
    # Always explicit: QEMU must never guess a format from the guest's data
    # (a pass-through disk is the guest's raw disk, whatever its name).
    etree.SubElement(element, "driver", name="qemu", type=formats(path) if path is not None and not passthrough else "raw")
    if path is not None:
        etree.SubElement(element, "source", {"dev" if block else "file": path})
    if controller.controller_type is ControllerType.IDE:
        target = disk_target("hd", controller.number * 2 + drive.slot)
        address = {"controller": "0", "bus": str(controller.number), "target": "0", "unit": str(drive.slot)}
    else:
        target = disk_target("sd", controller.number * 64 + drive.slot)
        address = {"controller": str(controller.number), "bus": "0", "target": "0", "unit": str(drive.slot)}
    etree.SubElement(element, "target", dev=target, bus=controller.controller_type.value)
    if cdrom or (drive.media is not None and drive.media.read_only):
        etree.SubElement(element, "readonly")
    if drive.media is not None and drive.media.iops_limit:
        element.append(iotune_element(drive.media.iops_limit))
    etree.SubElement(element, "alias", name=alias_of(drive.id))
    etree.SubElement(element, "address", type="drive", **address)
    return element


# The iotune children the model owns: Hyper-V's IOPS limit counts 8 KB
# units, which is QEMU's iops-size; libvirt refuses a total beside per-direction limits.
IOTUNE_OURS = ("total_iops_sec", "size_iops_sec")
IOTUNE_EXCLUSIVE = ("read_iops_sec", "write_iops_sec")


def iotune_element(iops_limit: int) -> etree._Element:
    element = etree.Element("iotune")
    etree.SubElement(element, "total_iops_sec").text = str(iops_limit)
    etree.SubElement(element, "size_iops_sec").text = str(IOPS_UNIT_BYTES)
    return element


def _merge_iotune(old: etree._Element, result: etree._Element) -> None:
    """Keep the limits of `old`'s iotune the model has no word for
    (bandwidth, bursts), beside the IOPS limit it now has or not."""
    old_tune, new_tune = old.find("iotune"), result.find("iotune")
    if old_tune is None:
        return
    dropped = IOTUNE_OURS + (IOTUNE_EXCLUSIVE if new_tune is not None else ())
    kept = [child for child in old_tune if isinstance(child.tag, str) and child.tag not in dropped]
    if not kept:
        return
    if new_tune is None:
        new_tune = etree.SubElement(result, "iotune")
    for child in kept:
        new_tune.append(copy.deepcopy(child))


def interface_element(nic: NetworkAdapter, switches: SwitchSource) -> etree._Element:
    source = switches(nic.switch_id) if nic.switch_id is not None else None
    # Not connected to a switch: a NIC with no network behind it.
    element = etree.Element("interface", type=source[0] if source else "ethernet")
    etree.SubElement(element, "mac", address=libvirt_mac(nic.mac_address or ""))
    if source:
        etree.SubElement(element, "source", {source[0]: source[1]})
    etree.SubElement(element, "model", type="e1000" if nic.adapter_type is AdapterType.EMULATED else "virtio")
    etree.SubElement(element, "link", state="up" if nic.connected else "down")
    append_features(element, nic)
    etree.SubElement(element, "alias", name=alias_of(nic.id))
    return element


def serial_element(port: SerialPort) -> etree._Element:
    if port.pipe_name:
        element = etree.Element("serial", type="unix")
        name = _PIPE_UNSAFE.sub("_", port.pipe_name.rsplit("\\", 1)[-1]) or f"com{port.port_number}"
        etree.SubElement(element, "source", mode="bind", path=f"{PIPE_DIRECTORY}/cimprovider-pipe-{name}")
    elif port.port_number == 1:
        element = etree.Element("serial", type="pty")  # the serial console the web console attaches to
    else:
        element = etree.Element("serial", type="null")
    etree.SubElement(element, "target", port=str(port.port_number - 1))
    etree.SubElement(element, "alias", name=alias_of(port.id))
    return element


def _serial(devices: etree._Element, port: SerialPort) -> etree._Element:
    """A port without a named pipe keeps what it is connected to (a file,
    a pty: the model has no word for them, and a console log must survive
    a change of the VM's notes); a pipe we made goes."""
    if port.pipe_name is None:
        for element in devices.findall("serial"):
            if _port(element) == port.port_number - 1 and element.get("type") != "unix":
                return copy.deepcopy(element)
    return serial_element(port)


def merged(old: etree._Element, new: etree._Element) -> etree._Element:
    """`new`, keeping what `old` had that `new` does not speak about (a
    disk's cache mode, a NIC's PCI address, boot order…)."""
    result = copy.deepcopy(new)
    written = {child.tag for child in new}
    owned = {"source", "readonly", "link", "alias", "iotune", *FEATURE_TAGS}
    for child in old:
        if isinstance(child.tag, str) and child.tag not in written and child.tag not in owned:
            result.append(copy.deepcopy(child))
        elif child.tag == "driver" and result.find("driver") is not None:
            driver = result.find("driver")
            for key, value in child.attrib.items():
                if driver.get(key) is None:  # type: ignore[union-attr]
                    driver.set(key, value)  # type: ignore[union-attr]
    for key, value in old.attrib.items():
        if result.get(key) is None:
            result.set(key, value)
    if result.tag == "disk":
        _merge_iotune(old, result)
    return result


def _sync(
    devices: etree._Element,
    path: str,
    key: Callable[[etree._Element], str],
    vm_id: UUID,
    wanted: dict[UUID, etree._Element],
    only: Callable[[etree._Element], bool] = lambda element: True,
) -> None:
    existing = {device_id(vm_id, e, key(e)): e for e in devices.findall(path) if only(e)}
    for element_id, element in existing.items():
        if element_id not in wanted:
            devices.remove(element)
    for element_id, element in wanted.items():
        old = existing.get(element_id)
        if old is None:
            devices.append(element)
        else:
            devices.replace(old, merged(old, element))


def _disk_key(element: etree._Element) -> str:
    target = element.find("target")
    return f"disk/{target.get('dev') if target is not None else ''}"


def _is_model_disk(element: etree._Element) -> bool:
    target = element.find("target")
    return element.get("device") in ("disk", "cdrom") and target is not None and target.get("bus") in ("ide", "scsi")


def _nic_key(element: etree._Element) -> str:
    mac = element.find("mac")
    return f"nic/{model_mac(mac.get('address', '')) if mac is not None else ''}"


def _port(element: etree._Element) -> int:
    target = element.find("target")
    return int(target.get("port", "0")) if target is not None else 0


def _child(root: etree._Element, tag: str) -> etree._Element:
    element = root.find(tag)
    if element is None:
        element = etree.SubElement(root, tag)
    return element
