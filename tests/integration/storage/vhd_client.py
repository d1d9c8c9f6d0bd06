"""The image management service from a client's side, as os-win's
vhdutilsv2 drove it: a VHDSD built with `.new()`, the method, its storage
job polled to the end."""

from __future__ import annotations

from pathlib import Path

import pywbem
from pywbem import CIMInstance, CIMInstanceName, Uint16, Uint32, Uint64

from tests.integration.model.hyperv import wait_job

MIB = 1024 * 1024
TYPES = {"fixed": 2, "dynamic": 3, "differencing": 4}
FORMATS = {"vhd": 2, "vhdx": 3}


def image_service(conn: pywbem.WBEMConnection) -> CIMInstanceName:
    return conn.EnumerateInstanceNames("Msvm_ImageManagementService")[0]


def vhdsd(path: Path, type: str = "dynamic", format: str = "vhd", size: int | None = 4 * MIB, **extra: object) -> str:
    properties: dict[str, object] = {"Type": Uint16(TYPES[type]), "Format": Uint16(FORMATS[format]), "Path": str(path)}
    if size is not None:
        properties["MaxInternalSize"] = Uint64(size)
    for name, value in extra.items():
        properties[name] = value
    return CIMInstance("Msvm_VirtualHardDiskSettingData", properties=properties).tocimxmlstr()


def invoke(conn: pywbem.WBEMConnection, method: str, **params: object) -> tuple[CIMInstance, dict]:
    """Calls the method, which must answer 4096; returns the finished
    Msvm_StorageJob and the output parameters."""
    code, out = conn.InvokeMethod(method, image_service(conn), **params)
    assert int(code) == 4096, code
    assert out["Job"].classname == "Msvm_StorageJob"
    return wait_job(conn, out["Job"], timeout=60), dict(out)


def succeed(conn: pywbem.WBEMConnection, method: str, **params: object) -> dict:
    job, out = invoke(conn, method, **params)
    assert (job["JobState"], job["ErrorCode"]) == (7, 0), job["ErrorDescription"]
    assert job["PercentComplete"] == 100
    return out


def fail(conn: pywbem.WBEMConnection, method: str, code: int, **params: object) -> str:
    """The job must end in Exception with `code`; returns its description."""
    job, _ = invoke(conn, method, **params)
    assert (job["JobState"], job["ErrorCode"]) == (10, code), (job["ErrorCode"], job["ErrorDescription"])
    assert job["ErrorDescription"]
    return job["ErrorDescription"]


def create(conn: pywbem.WBEMConnection, path: Path, type: str = "dynamic", format: str = "vhd", size: int | None = 4 * MIB, **extra: object) -> None:
    succeed(conn, "CreateVirtualHardDisk", VirtualDiskSettingData=vhdsd(path, type, format, size, **extra))


def settings(conn: pywbem.WBEMConnection, path: Path) -> CIMInstance:
    return succeed(conn, "GetVirtualHardDiskSettingData", Path=str(path))["SettingData"]


__all__ = ["MIB", "Uint16", "Uint32", "Uint64", "create", "fail", "image_service", "invoke", "settings", "succeed", "vhdsd"]
