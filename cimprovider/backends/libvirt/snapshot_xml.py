"""Hyper-V snapshots as libvirt snapshots, in XML.

A libvirt snapshot is named by the snapshot's id and keeps our extras (the
Hyper-V name, the kind, the exact creation time) as JSON in its
description, so the tree lives in libvirt alone; a snapshot taken with
virsh gets an id derived from its name. The VM as it was is the domain
definition libvirt stores in the snapshot.

Disks: when every disk is qcow2 the snapshot is internal (QEMU keeps it
inside each image, with the memory of a running guest). A disk in another
format (raw) cannot hold one, so the snapshot is external: libvirt freezes
each disk and moves the VM onto a new qcow2 overlay beside it
(`<name>-<snapshot id>.qcow2`), whose backing file is the frozen disk. A
running guest's memory then goes to a file of its own (in the data
directory), as it does for a running VM without a qcow2 disk to hold it:
a standard snapshot of a running VM holds its memory whatever its disks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from uuid import UUID, uuid5
from xml.sax.saxutils import escape

from lxml import etree

from cimprovider.schemas.snapshots import SnapshotKind

POSITION_NAMESPACE = "https://cimprovider.dev/xmlns/hyperv-snapshots/1"
POSITION_PREFIX = "hvsnap"
OVERLAY_MARK = "-snap-"
APOSTROPHE = {"'": "&apos;"}  # attribute values are written in single quotes


@dataclass(frozen=True)
class SnapshotExtras:
    name: str
    kind: SnapshotKind
    created_at: datetime

    def description(self) -> str:
        return json.dumps({"name": self.name, "kind": self.kind.value, "created_at": self.created_at.isoformat()})


def snapshot_id(vm_id: UUID, libvirt_name: str) -> UUID:
    try:
        return UUID(libvirt_name)
    except ValueError:
        return uuid5(vm_id, f"snapshot/{libvirt_name}")  # taken with virsh


def parse_extras(xml: etree._Element) -> SnapshotExtras:
    created = datetime.fromtimestamp(int(xml.findtext("creationTime") or "0"), timezone.utc)
    fallback = SnapshotExtras(xml.findtext("name") or "snapshot", SnapshotKind.STANDARD, created)
    try:
        data = json.loads(xml.findtext("description") or "")
        return SnapshotExtras(str(data["name"]), SnapshotKind(data["kind"]), datetime.fromisoformat(data["created_at"]))
    except (ValueError, KeyError, TypeError):
        return fallback


def holds_memory(xml: etree._Element) -> bool:
    memory = xml.find("memory")
    return xml.findtext("state") in ("running", "paused") and memory is not None and memory.get("snapshot") != "no"


def is_external(xml: etree._Element) -> bool:
    return memory_file(xml) is not None or any(disk.get("snapshot") == "external" for disk in xml.iterfind("disks/disk"))


def memory_file(xml: etree._Element) -> str | None:
    """The file an external snapshot saved the guest's memory to, if any."""
    memory = xml.find("memory")
    return memory.get("file") if memory is not None and memory.get("snapshot") == "external" else None


def frozen_files(xml: etree._Element) -> tuple[str, ...]:
    """For an external snapshot: the files it froze (the disks' sources in
    the definition it keeps)."""
    if not is_external(xml):
        return ()
    names = {disk.get("name") for disk in xml.iterfind("disks/disk") if disk.get("snapshot") == "external"}
    files = []
    for disk in xml.iterfind("domain/devices/disk"):
        target, source = disk.find("target"), disk.find("source")
        if target is not None and source is not None and target.get("dev") in names and source.get("file"):
            files.append(source.get("file"))
    return tuple(files)


def overlay_files(xml: etree._Element) -> tuple[str, ...]:
    """For an external snapshot: the overlays the VM was moved onto."""
    return tuple(
        source.get("file")
        for disk in xml.iterfind("disks/disk")
        if disk.get("snapshot") == "external" and (source := disk.find("source")) is not None and source.get("file")
    )


def overlay_path(disk: str, tag: str) -> str:
    path = Path(disk)
    stem = path.name.split(OVERLAY_MARK)[0].rsplit(".", 1)[0]
    return str(path.with_name(f"{stem}{OVERLAY_MARK}{tag}.qcow2"))


def is_our_overlay(path: str) -> bool:
    return OVERLAY_MARK in Path(path).name and path.endswith(".qcow2")


def internal_snapshot_xml(name: str, extras: SnapshotExtras) -> str:
    return f"<domainsnapshot><name>{name}</name><description>{escape(extras.description())}</description></domainsnapshot>"


def external_snapshot_xml(name: str, extras: SnapshotExtras, disks: dict[str, str | None], memory: str | None = None) -> str:
    """`disks`: target dev → overlay path, or None for a disk left alone (a
    DVD); `memory`: the file a running guest's memory is saved to, or None
    for a snapshot of the disks alone."""
    parts = []
    for target, overlay in disks.items():
        if overlay is None:
            parts.append(f"<disk name='{target}' snapshot='no'/>")
        else:
            parts.append(
                f"<disk name='{target}' snapshot='external'><driver type='qcow2'/><source file='{escape(overlay)}'/></disk>"
            )
    memory_element = f"<memory snapshot='external' file='{escape(memory, APOSTROPHE)}'/>" if memory else "<memory snapshot='no'/>"
    return (
        f"<domainsnapshot><name>{name}</name><description>{escape(extras.description())}</description>"
        f"{memory_element}<disks>{''.join(parts)}</disks></domainsnapshot>"
    )


def renamed(xml: etree._Element, name: str) -> str:
    extras = parse_extras(xml)
    description = xml.find("description")
    if description is None:
        description = etree.SubElement(xml, "description")
    description.text = SnapshotExtras(name, extras.kind, extras.created_at).description()
    return etree.tostring(xml, encoding="unicode")


def position_xml(last_applied: UUID | None) -> str:
    return f"<position last-applied='{last_applied or ''}'/>"


def parse_last_applied(text: str | None) -> UUID | None:
    if not text:
        return None
    value = etree.fromstring(text).get("last-applied")
    return UUID(value) if value else None
