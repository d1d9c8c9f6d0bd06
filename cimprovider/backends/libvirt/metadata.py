"""The project's own element in a domain's `<metadata>`: everything a
Hyper-V VM has that libvirt has no element for.

libvirt keeps whatever we put under our namespace with the domain, so the
settings travel with it (virsh dumpxml, migration, backups) and nothing is
kept beside libvirt. Values are written as the models' own field values, so
reading them back is plain pydantic validation; a domain that never had our
element (defined with virsh) simply gets the models' defaults.

A second namespace holds facts about the running instance only (when it
started); it is written to the live definition, so libvirt drops it when
the domain stops.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from uuid import UUID

from lxml import etree

from cimprovider.schemas.devices import Drive, DriveType
from cimprovider.schemas.integration import KvpItem, KvpSource
from cimprovider.schemas.vm import SystemSettings

NAMESPACE = "https://cimprovider.dev/xmlns/hyperv/1"
PREFIX = "hv"
RUNTIME_NAMESPACE = "https://cimprovider.dev/xmlns/hyperv-runtime/1"
RUNTIME_PREFIX = "hvrt"

# Settings stored as `<hv:NAME>value</hv:NAME>`; the element name is kept
# apart (it pairs with the domain name, see `HyperVExtras.element_name`).
SETTING_FIELDS = tuple(name for name in SystemSettings.model_fields if name != "name")


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def text_value(value: object) -> str:
    """A model field value as text that pydantic reads back into the same value."""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return " ".join(text_value(item) for item in value)
    return str(value)


def setting_text(name: str, value: object) -> str | None:
    """A system setting as its element's text; None (an unset optional
    setting) writes no element."""
    if value is None:
        return None
    if name == "notes":
        return json.dumps(list(value))  # type: ignore[call-overload]
    return text_value(value)


def setting_value(name: str, text: str) -> object:
    """The inverse of `setting_text`, for pydantic to validate."""
    if name in ("boot_order", "boot_source_order"):
        return tuple(text.split())
    if name == "notes":
        try:
            entries = json.loads(text)
        except ValueError:
            entries = None
        if isinstance(entries, list) and all(isinstance(entry, str) for entry in entries):
            return tuple(entries)
        return (text,) if text else ()  # written before notes were an array
    return text


@dataclass
class PendingDrive:
    """A drive without media. libvirt has no disk without a source, while
    Hyper-V adds the drive first and its virtual disk afterwards; the drive
    waits here until media arrives and it becomes a real `<disk>`."""

    id: UUID
    controller_id: UUID
    slot: int
    drive_type: DriveType
    name: str = ""

    def as_drive(self) -> Drive:
        return Drive(id=self.id, controller_id=self.controller_id, slot=self.slot, drive_type=self.drive_type, name=self.name)


@dataclass
class HyperVExtras:
    # The Hyper-V name, when libvirt could not take it as the domain name
    # (duplicates, renames while running); `paired_domain_name` is the domain
    # name it was written beside, so a rename with virsh wins over it.
    element_name: str | None = None
    paired_domain_name: str | None = None
    settings: dict[str, str] = field(default_factory=dict)
    processor: dict[str, str] = field(default_factory=dict)
    memory: dict[str, str] = field(default_factory=dict)
    # Generation 1: the two IDE channels shown as Hyper-V's two IDE controllers.
    ide_controllers: list[dict[str, str]] | None = None
    # Per device id: fields libvirt has no place for (name, media id, static MAC…).
    devices: dict[UUID, dict[str, str]] = field(default_factory=dict)
    pending_drives: list[PendingDrive] = field(default_factory=list)
    # How many <cpu><numa> cells we wrote for virtual NUMA (0: none are ours).
    numa_cells: int = 0
    integration_services: dict[str, bool] = field(default_factory=dict)
    kvp_items: list[KvpItem] = field(default_factory=list)


def parse_extras(element: etree._Element | None) -> HyperVExtras:
    extras = HyperVExtras()
    if element is None:
        return extras
    for child in element:
        if not isinstance(child.tag, str) or not child.tag.startswith(f"{{{NAMESPACE}}}"):
            continue
        tag = etree.QName(child).localname
        if tag == "name":
            extras.element_name = child.text or ""
            extras.paired_domain_name = child.get("domain")
        elif tag in SETTING_FIELDS:
            extras.settings[tag] = child.text or ""
        elif tag == "processor":
            extras.processor = dict(child.attrib)
        elif tag == "memory":
            extras.memory = dict(child.attrib)
        elif tag == "ide-controller":
            extras.ide_controllers = (extras.ide_controllers or []) + [dict(child.attrib)]
        elif tag == "ide-controllers":  # written when none are left
            extras.ide_controllers = extras.ide_controllers or []
        elif tag == "device" and child.get("id"):
            attributes = dict(child.attrib)
            extras.devices[UUID(attributes.pop("id"))] = attributes
        elif tag == "numa":
            extras.numa_cells = int(child.get("cells", "0")) if child.get("cells", "0").isdigit() else 0
        elif tag == "pending-drive":
            extras.pending_drives.append(
                PendingDrive(
                    id=UUID(child.get("id")),
                    controller_id=UUID(child.get("controller")),
                    slot=int(child.get("slot", "0")),
                    drive_type=DriveType(child.get("type", "disk")),
                    name=child.get("name", ""),
                )
            )
        elif tag == "integration-service":
            extras.integration_services[child.get("service", "")] = child.get("enabled") == "true"
        elif tag == "kvp":
            extras.kvp_items.append(
                KvpItem(name=child.get("name", ""), data=child.text or "", source=KvpSource(child.get("source", "host")))
            )
    return extras


def render_extras(extras: HyperVExtras) -> etree._Element:
    root = etree.Element(_q("vm"), nsmap={PREFIX: NAMESPACE})

    def add(tag: str, text: str | None = None, **attributes: str) -> etree._Element:
        child = etree.SubElement(root, _q(tag), {k: v for k, v in attributes.items()})
        child.text = text
        return child

    if extras.element_name is not None:
        add("name", extras.element_name, domain=extras.paired_domain_name or "")
    for name in SETTING_FIELDS:
        if name in extras.settings:
            add(name, extras.settings[name])
    add("processor", **extras.processor)
    add("memory", **extras.memory)
    if extras.ide_controllers is not None:
        add("ide-controllers")
        for controller in extras.ide_controllers:
            add("ide-controller", **controller)
    for device_id, attributes in extras.devices.items():
        add("device", id=str(device_id), **attributes)
    if extras.numa_cells:
        add("numa", cells=str(extras.numa_cells))
    for drive in extras.pending_drives:
        add("pending-drive", id=str(drive.id), controller=str(drive.controller_id), slot=str(drive.slot),
            type=drive.drive_type.value, name=drive.name)
    for service, enabled in extras.integration_services.items():
        add("integration-service", service=service, enabled=text_value(enabled))
    for item in extras.kvp_items:
        add("kvp", item.data, name=item.name, source=item.source.value)
    return root


def find_extras(domain: etree._Element) -> etree._Element | None:
    return domain.find(f"metadata/{{{NAMESPACE}}}vm")


def find_started_at(domain: etree._Element) -> float | None:
    element = domain.find(f"metadata/{{{RUNTIME_NAMESPACE}}}run")
    try:
        return float(element.get("started-at", "")) if element is not None else None
    except ValueError:
        return None


def render_run(started_at: float) -> str:
    return f'<run started-at="{started_at:.3f}"/>'
