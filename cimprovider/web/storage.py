"""Virtual hard disks through the image management service, as a WBEM
client drives it: create, inspect (GetVirtualHardDiskSettingData),
convert and compact. Paths are the user's; the model confines them."""

from __future__ import annotations

from pathlib import Path

from pywbem import CIMInstance, Uint16, Uint64

from cimprovider.web.cim import ActionFailed, CIMClient
from cimprovider.web.machines import embedded_values, service

IMAGES = "Msvm_ImageManagementService"
FORMATS = {"vhdx": 3, "vhd": 2}
TYPES = {"dynamic": 3, "fixed": 2}
TYPE_NAMES = {"2": "Fixed size", "3": "Dynamically expanding", "4": "Differencing"}
FORMAT_NAMES = {"2": "VHD", "3": "VHDX", "4": "VHD Set"}
GIB = 1024**3


def disk_settings(path: str, disk_format: str, disk_type: str, size_gb: int | None) -> CIMInstance:
    if disk_format not in FORMATS or disk_type not in TYPES:
        raise ActionFailed("choose a format (VHDX or VHD) and a type (dynamic or fixed)")
    values: dict[str, object] = {"Path": path, "Format": Uint16(FORMATS[disk_format]), "Type": Uint16(TYPES[disk_type])}
    if size_gb is not None:
        values["MaxInternalSize"] = Uint64(size_gb * GIB)
    return CIMInstance("Msvm_VirtualHardDiskSettingData", properties=values)


def create(client: CIMClient, path: str, disk_format: str, disk_type: str, size_gb: int) -> None:
    client.call(service(client, IMAGES), "CreateVirtualHardDisk", f"Create {Path(path).name}",
                VirtualDiskSettingData=disk_settings(path, disk_format, disk_type, size_gb))


def inspect(client: CIMClient, path: str) -> dict[str, str]:
    out = client.call(service(client, IMAGES), "GetVirtualHardDiskSettingData", f"Inspect {Path(path).name}", Path=path)
    values = embedded_values(out.get("SettingData"))
    size = int(values.get("MaxInternalSize") or 0)
    return {
        "Path": str(values.get("Path") or path),
        "Format": FORMAT_NAMES.get(str(values.get("Format")), str(values.get("Format"))),
        "Type": TYPE_NAMES.get(str(values.get("Type")), str(values.get("Type"))),
        "Maximum size": f"{size / GIB:.1f} GB" if size else "",
        "Parent": str(values.get("ParentPath") or ""),
        "Block size": str(values.get("BlockSize") or ""),
        "Logical sector size": str(values.get("LogicalSectorSize") or ""),
    }


def convert(client: CIMClient, source: str, destination: str, disk_format: str, disk_type: str) -> None:
    client.call(service(client, IMAGES), "ConvertVirtualHardDisk", f"Convert {Path(source).name}", SourcePath=source,
                VirtualDiskSettingData=disk_settings(destination, disk_format, disk_type, None))


def compact(client: CIMClient, path: str) -> None:
    client.call(service(client, IMAGES), "CompactVirtualHardDisk", f"Compact {Path(path).name}", Path=path,
                Mode=Uint16(0))
