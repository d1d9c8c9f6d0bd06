"""Taking a snapshot as os-win does, and a guest writing to its disk, for
the tests of export, cloning and snapshot merges."""

from __future__ import annotations

from pathlib import Path

import pywbem
from pywbem import CIMInstanceName, Uint16

from cimprovider.backends.images import StorageRoots, VhdChain
from tests.integration.model.hyperv import wait_job
from tests.integration.storage.vhd_client import MIB
from tests.integration.storage.vm_client import disk_paths


def snapshot_service(conn: pywbem.WBEMConnection) -> CIMInstanceName:
    return conn.EnumerateInstanceNames("Msvm_VirtualSystemSnapshotService")[0]


def take_with_job(conn: pywbem.WBEMConnection, vm: CIMInstanceName) -> tuple[CIMInstanceName, CIMInstanceName]:
    """(the snapshot, the finished job's path)."""
    code, out = conn.InvokeMethod("CreateSnapshot", snapshot_service(conn), AffectedSystem=vm,
                                  SnapshotSettings="", SnapshotType=Uint16(2))
    assert code == 4096
    job = wait_job(conn, out["Job"])
    assert (job["JobState"], job["ErrorCode"]) == (7, 0), job["ErrorDescription"]
    return out["ResultingSnapshot"], out["Job"]


def take(conn: pywbem.WBEMConnection, vm: CIMInstanceName) -> CIMInstanceName:
    return take_with_job(conn, vm)[0]


def guest_writes(conn: pywbem.WBEMConnection, vm: CIMInstanceName, megabyte: int, byte: int) -> None:
    """The guest writes one MiB into the disk it runs on."""
    disk = Path(disk_paths(conn, vm)[0])
    with VhdChain.open(disk, StorageRoots([disk.parent]), writable={0}) as chain:
        chain.write(megabyte * MIB, bytes([byte]) * MIB)
