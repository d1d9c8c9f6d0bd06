"""Domain XML → `VirtualMachine`.

Settings, processor, memory and our metadata come from the persistent
definition (what the VM is configured to be); controllers, drives, NICs and
serial ports from the live one while the domain runs (what the guest has).
A domain defined by hand may hold things the Hyper-V model cannot express
(virtio disks, a third serial port…): those are left out rather than
refused, so every domain on the host appears as a VM.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from uuid import UUID, uuid5

import libvirt
from lxml import etree
from pydantic import ValidationError

from cimprovider.backends.libvirt.display import defined_display
from cimprovider.backends.libvirt.identity import bridge_switch_id, derived_id, device_id, disk_index, model_mac
from cimprovider.backends.libvirt.pci_devices import read_pci_devices
from cimprovider.backends.libvirt.metadata import HyperVExtras, find_extras, parse_extras, setting_value
from cimprovider.backends.libvirt.port_features import read_features
from cimprovider.schemas.devices import (
    MAX_MEMORY_MB,
    MAX_PROCESSORS,
    SCSI_CONTROLLERS,
    AdapterType,
    Controller,
    ControllerType,
    Drive,
    DriveType,
    IntegrationService,
    Media,
    MemorySettings,
    NetworkAdapter,
    ProcessorSettings,
    SerialPort,
    default_integration_services,
)
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.vm import VirtualMachine

log = logging.getLogger(__name__)

EMULATED_NIC_MODELS = frozenset({"e1000", "e1000e", "rtl8139", "ne2k_pci", "pcnet"})
KIB_PER_MB = 1024


def read_vm(
    live: etree._Element, config: etree._Element, power_state: PowerState, network_ids: Mapping[str, UUID]
) -> VirtualMachine:
    vm_id = UUID(config.findtext("uuid"))
    extras = parse_extras(find_extras(config))
    settings = read_settings(config, extras)
    base = {"id": vm_id, "power_state": power_state, **settings}
    try:
        controllers = read_controllers(vm_id, live, extras, settings["generation"])
        return VirtualMachine.model_validate(
            {
                **base,
                "processor": read_processor(config, extras),
                "memory": read_memory(config, extras),
                "controllers": controllers,
                "drives": read_drives(vm_id, live, extras, controllers),
                "network_adapters": read_network_adapters(vm_id, live, extras, network_ids),
                "serial_ports": read_serial_ports(vm_id, live, extras),
                "pci_devices": read_pci_devices(vm_id, live),
                "integration_services": read_integration_services(extras),
                "kvp_items": tuple(extras.kvp_items),
            }
        )
    except (ValidationError, ValueError) as error:
        # Never hide a domain because one of its parts is odd: show the VM
        # with default resources and say why in the log.
        log.warning("domain %s: showing default resources: %s", vm_id, error)
        return VirtualMachine.model_validate({**base, "generation": settings["generation"]})


def read_settings(config: etree._Element, extras: HyperVExtras) -> dict[str, object]:
    domain_name = config.findtext("name") or ""
    name = domain_name
    if extras.element_name and extras.paired_domain_name == domain_name:
        name = extras.element_name
    values: dict[str, object] = {"name": name[:100] or "vm"}
    for field, text in extras.settings.items():
        values[field] = setting_value(field, text)
    values.update(defined_display(config))  # the domain's own video model, edited by anyone, wins
    if "generation" not in values:
        os = config.find("os")
        efi = os is not None and (os.get("firmware") == "efi" or os.find("loader[@type='pflash']") is not None)
        values["generation"] = 2 if efi else 1
    values["generation"] = int(values["generation"])  # type: ignore[call-overload]
    return values


def read_processor(config: etree._Element, extras: HyperVExtras) -> ProcessorSettings:
    vcpu = config.find("vcpu")
    count = 1
    if vcpu is not None:
        count = int(vcpu.get("current") or (vcpu.text or "1").strip())
    return ProcessorSettings.model_validate({**extras.processor, "count": min(max(count, 1), MAX_PROCESSORS)})


def _mb(element: etree._Element | None) -> int | None:
    if element is None or not (element.text or "").strip():
        return None
    units = {"b": 1 / 1048576, "bytes": 1 / 1048576, "k": 1 / 1024, "kib": 1 / 1024, "kb": 1000 / 1048576,
             "m": 1, "mib": 1, "mb": 1e6 / 1048576, "g": 1024, "gib": 1024, "gb": 1e9 / 1048576}
    factor = units.get(element.get("unit", "KiB").lower(), 1 / 1024)
    return int(int(element.text.strip()) * factor)  # type: ignore[union-attr]


def _even(mb: int) -> int:
    return min(max(mb - mb % 2, 32), MAX_MEMORY_MB)


def read_memory(config: etree._Element, extras: HyperVExtras) -> MemorySettings:
    # With memory slots, the maximum is what the guest may grow to.
    maximum = _mb(config.find("maxMemory")) or _mb(config.find("memory")) or 1024
    current = _mb(config.find("currentMemory")) or maximum
    stored = dict(extras.memory)
    dynamic = stored.pop("dynamic_enabled", "true" if current < maximum else "false") == "true"
    if dynamic:
        startup, maximum = _even(current), _even(maximum)
        stored.pop("maximum_mb", None)
        minimum = min(int(stored.pop("minimum_mb", "512")), startup)
        return MemorySettings.model_validate(
            {**stored, "dynamic_enabled": True, "startup_mb": startup, "maximum_mb": maximum, "minimum_mb": minimum}
        )
    return MemorySettings.model_validate({**stored, "dynamic_enabled": False, "startup_mb": _even(maximum)})


def read_controllers(
    vm_id: UUID, live: etree._Element, extras: HyperVExtras, generation: int
) -> tuple[Controller, ...]:
    controllers: list[Controller] = []
    if generation == 1:
        stored = extras.ide_controllers
        if stored is None:
            stored = [{"number": "0"}, {"number": "1"}]
        for item in stored:
            number = int(item.get("number", "0"))
            controller_id = UUID(item["id"]) if item.get("id") else derived_id(vm_id, f"controller/ide/{number}")
            controllers.append(
                Controller(id=controller_id, controller_type=ControllerType.IDE, number=number, name=item.get("name", ""))
            )
    numbers: set[int] = set()
    for element in live.iterfind("devices/controller[@type='scsi']"):
        number = int(element.get("index", "0"))
        if number >= SCSI_CONTROLLERS or number in numbers:
            continue
        numbers.add(number)
        controller_id = device_id(vm_id, element, f"controller/scsi/{number}")
        name = extras.devices.get(controller_id, {}).get("name", "")
        controllers.append(Controller(id=controller_id, controller_type=ControllerType.SCSI, number=number, name=name))
    # A SCSI disk implies its controller even where libvirt did not write one.
    for disk in live.iterfind("devices/disk/target[@bus='scsi']/.."):
        number = _scsi_place(disk)[0]
        if number < SCSI_CONTROLLERS and number not in numbers:
            numbers.add(number)
            controller_id = derived_id(vm_id, f"controller/scsi/{number}")
            controllers.append(Controller(id=controller_id, controller_type=ControllerType.SCSI, number=number))
    return tuple(controllers)


def _scsi_place(disk: etree._Element) -> tuple[int, int]:
    address = disk.find("address[@type='drive']")
    if address is not None:
        return int(address.get("controller", "0")), int(address.get("unit", "0"))
    index = disk_index(disk.find("target").get("dev", "sda"))  # type: ignore[union-attr]
    return index // 7, index % 7  # libvirt's own default for SCSI


def _ide_place(disk: etree._Element) -> tuple[int, int]:
    address = disk.find("address[@type='drive']")
    if address is not None:
        return int(address.get("bus", "0")), int(address.get("unit", "0"))
    index = disk_index(disk.find("target").get("dev", "hda"))  # type: ignore[union-attr]
    return index // 2, index % 2


def read_drives(
    vm_id: UUID, live: etree._Element, extras: HyperVExtras, controllers: tuple[Controller, ...]
) -> tuple[Drive, ...]:
    by_place = {(c.controller_type, c.number): c for c in controllers}
    drives: list[Drive] = []
    taken: set[tuple[UUID, int]] = set()
    for disk in live.iterfind("devices/disk"):
        target = disk.find("target")
        bus = target.get("bus") if target is not None else None
        if disk.get("device") not in ("disk", "cdrom") or bus not in ("ide", "scsi") or target is None:
            continue
        kind = ControllerType(bus)
        number, slot = _ide_place(disk) if kind is ControllerType.IDE else _scsi_place(disk)
        controller = by_place.get((kind, number))
        if controller is None or slot >= kind.slots or (controller.id, slot) in taken:
            continue
        taken.add((controller.id, slot))
        drive_id = device_id(vm_id, disk, f"disk/{target.get('dev')}")
        stored = extras.devices.get(drive_id, {})
        drives.append(
            Drive(
                id=drive_id,
                drive_type=DriveType.DVD if disk.get("device") == "cdrom" else DriveType.DISK,
                controller_id=controller.id,
                slot=slot,
                media=_read_media(disk, drive_id, stored),
                name=stored.get("name", ""),
            )
        )
    known = {c.id for c in controllers}
    for pending in extras.pending_drives:
        if pending.controller_id in known and (pending.controller_id, pending.slot) not in taken:
            taken.add((pending.controller_id, pending.slot))
            drives.append(pending.as_drive())
    return tuple(drives)


def _read_media(disk: etree._Element, drive_id: UUID, stored: Mapping[str, str]) -> Media | None:
    source = disk.find("source")
    path = None
    if source is not None:
        path = source.get("file") or source.get("dev") or source.get("name")
        if path is None and source.get("volume"):
            path = f"{source.get('pool')}/{source.get('volume')}"
    if not path:
        return None
    ours = stored.get("media_path") == path
    media_id = UUID(stored["media_id"]) if ours and stored.get("media_id") else uuid5(drive_id, path)
    iops = (disk.findtext("iotune/total_iops_sec") or "0").strip()
    # A whole host block device as a disk is what Hyper-V calls a physical (pass-through) disk.
    passthrough = disk.get("type") == "block" and disk.get("device") == "disk"
    return Media(id=media_id, path=path, read_only=disk.find("readonly") is not None,
                 iops_limit=int(iops) if iops.isdigit() else 0, passthrough=passthrough,
                 attached_path=stored.get("attached_path") if ours else None)


def read_network_adapters(
    vm_id: UUID, live: etree._Element, extras: HyperVExtras, network_ids: Mapping[str, UUID]
) -> tuple[NetworkAdapter, ...]:
    adapters = []
    seen: set[str] = set()
    for element in live.iterfind("devices/interface"):
        mac_element = element.find("mac")
        mac = model_mac(mac_element.get("address", "")) if mac_element is not None else ""
        if len(mac) != 12 or mac in seen:
            continue
        seen.add(mac)
        nic_id = device_id(vm_id, element, f"nic/{mac}")
        stored = extras.devices.get(nic_id, {})
        model = element.find("model")
        emulated = model is not None and model.get("type") in EMULATED_NIC_MODELS
        link = element.find("link")
        adapters.append(
            NetworkAdapter(
                id=nic_id,
                name=stored.get("name", "Network Adapter"),
                adapter_type=AdapterType.EMULATED if emulated else AdapterType.SYNTHETIC,
                mac_address=mac,
                static_mac=stored.get("static_mac") == "true",
                switch_id=_switch_of(element, network_ids),
                connected=link is None or link.get("state") != "down",
                **read_features(element, nic_id, stored),  # type: ignore[arg-type]
            )
        )
    return tuple(adapters)


def _switch_of(interface: etree._Element, network_ids: Mapping[str, UUID]) -> UUID | None:
    source = interface.find("source")
    if source is None:
        return None
    if interface.get("type") == "network":
        return network_ids.get(source.get("network", ""))
    if interface.get("type") == "bridge" and source.get("bridge"):
        return bridge_switch_id(source.get("bridge", ""))
    return None


def read_serial_ports(vm_id: UUID, live: etree._Element, extras: HyperVExtras) -> tuple[SerialPort, ...]:
    found: dict[int, SerialPort] = {}
    for element in live.iterfind("devices/serial"):
        target = element.find("target")
        port = int(target.get("port", "0")) if target is not None else 0
        if port > 1 or port + 1 in found:
            continue
        port_id = device_id(vm_id, element, f"serial/{port}")
        pipe = extras.devices.get(port_id, {}).get("pipe_name") if element.get("type") == "unix" else None
        found[port + 1] = SerialPort(id=port_id, port_number=port + 1, pipe_name=pipe)
    # Hyper-V VMs always have COM1 and COM2; one libvirt lacks is shown unconnected.
    for number in (1, 2):
        found.setdefault(number, SerialPort(id=derived_id(vm_id, f"serial/{number - 1}"), port_number=number))
    return tuple(found[number] for number in (1, 2))


def read_integration_services(extras: HyperVExtras) -> tuple[IntegrationService, ...]:
    return tuple(
        service.replace(enabled=extras.integration_services.get(service.service.value, service.enabled))
        for service in default_integration_services()
    )


def power_state(domain: libvirt.virDomain, raw: tuple[int, int] | None = None) -> PowerState:
    """libvirt's state (`raw`, else asked now) in Hyper-V's words; a domain
    that is off with a managed save image is Saved."""
    state, _reason = raw if raw is not None else domain.state()
    if state in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED):
        return PowerState.RUNNING
    if state in (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PMSUSPENDED):
        return PowerState.PAUSED
    if state == libvirt.VIR_DOMAIN_SHUTDOWN:
        return PowerState.STOPPING
    return PowerState.SAVED if domain.hasManagedSaveImage(0) else PowerState.OFF
