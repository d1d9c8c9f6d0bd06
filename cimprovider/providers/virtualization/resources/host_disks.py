"""The host's pass-through disks as Hyper-V shows them: one Msvm_DiskDrive
of the host per disk the admin listed (passthrough_disks), numbered in the
listed order (DriveNumber, which os-win looks a disk up by; DeviceID
`Microsoft:PhysicalDisk\\<n>`). A client attaches one by naming its path
in a Physical Disk Drive RASD's HostResource."""

from __future__ import annotations

from typing import Any

from pywbem import CIMInstanceName

from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.model import CS, Virtualization

DISK = "Msvm_DiskDrive"  # the class of a running VM's drives too (devices.py)
_PREFIX = f"{ids.PREFIX}PhysicalDisk\\"


def disk_values(virt: Virtualization, number: int, path: str) -> dict[str, Any]:
    return {
        "CreationClassName": DISK,
        "DeviceID": f"{_PREFIX}{number}",
        "SystemCreationClassName": CS,
        "SystemName": virt.host_name,
        "ElementName": path,
        "Caption": "Physical Disk Drive",
        "Name": path,
        "DriveNumber": number,
        "EnabledState": 2,
        "HealthState": 5,
        "OperationalStatus": [2],
    }


def host_disks(virt: Virtualization) -> list[dict[str, Any]]:
    return [disk_values(virt, n, path) for n, path in enumerate(virt.backend.host_info().passthrough_disks)]


def disk_path(virt: Virtualization, path: str) -> CIMInstanceName:
    """The object path of the host disk at `path` (the listed name)."""
    number = virt.backend.host_info().passthrough_disks.index(path)
    return virt.renderer.path(DISK, disk_values(virt, number, path))


def disk_path_text(virt: Virtualization, path: str) -> str:
    """The host disk's path as Hyper-V writes it into HostResource."""
    return virt.text(disk_path(virt, path))


def listed_disk(virt: Virtualization, text: str) -> str | None:
    """The listed path of the host disk a client's path (HostResource) names,
    or None when it names no disk this host offers."""
    parsed = ids.parse_path_text(text)
    if parsed is None or parsed[0].lower() != DISK.lower():
        return None
    system, device = parsed[1].get("systemname"), parsed[1].get("deviceid")
    if not (isinstance(system, str) and system.lower() == virt.host_name.lower() and isinstance(device, str)):
        return None
    disks = virt.backend.host_info().passthrough_disks
    number = device[len(_PREFIX):] if device.lower().startswith(_PREFIX.lower()) else ""
    return disks[int(number)] if number.isdigit() and int(number) < len(disks) else None
