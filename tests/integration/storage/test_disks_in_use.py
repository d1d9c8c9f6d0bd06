"""A disk that a VM which is not off uses — or a parent of such a disk —
is in use: it cannot be merged, compacted, re-parented or shrunk (32774),
and GetVirtualHardDiskState says so. As on Hyper-V, only a VHDX is resized
online, and only grown; a VHD in use is not resized at all."""

from __future__ import annotations

from pathlib import Path

from pywbem import Uint16, Uint64

from tests.backends.images.readers import qemu_info, vhdiinfo
from tests.integration.model.hyperv import request_state
from tests.integration.storage.vhd_client import MIB, create, fail, succeed
from tests.integration.storage.vm_client import vm_with_disk


def test_a_running_vm_holds_its_disk_and_the_parents(conn, root: Path) -> None:
    base, child = root / "base.vhd", root / "child.vhd"
    create(conn, base, "dynamic", size=8 * MIB)
    create(conn, child, "differencing", size=None, ParentPath=str(base))
    vm = vm_with_disk(conn, "in-use", child)
    assert request_state(conn, vm, 2)[1]["JobState"] == 7

    assert succeed(conn, "GetVirtualHardDiskState", Path=str(child))["State"]["InUse"] is True
    assert "running virtual machine" in fail(conn, "MergeVirtualHardDisk", 32774, SourcePath=str(child), DestinationPath=str(base))
    fail(conn, "CompactVirtualHardDisk", 32774, Path=str(child), Mode=Uint16(0))
    fail(conn, "CompactVirtualHardDisk", 32774, Path=str(base), Mode=Uint16(0))  # the child reads through it
    fail(conn, "SetParentVirtualHardDisk", 32774, ChildPath=str(child), ParentPath=str(base), LeafPath=None, IgnoreIDMismatch=False)
    fail(conn, "ResizeVirtualHardDisk", 32774, Path=str(child), MaxInternalSize=Uint64(4 * MIB))
    message = fail(conn, "ResizeVirtualHardDisk", 32774, Path=str(child), MaxInternalSize=Uint64(16 * MIB))
    assert "a VHD cannot be resized while in use" in message
    assert "(8388608 bytes)" in vhdiinfo(child)["Media size"]

    assert request_state(conn, vm, 6)[1]["JobState"] == 7  # saved still holds it
    fail(conn, "MergeVirtualHardDisk", 32774, SourcePath=str(child), DestinationPath=str(base))
    assert request_state(conn, vm, 3)[1]["JobState"] == 7  # off releases it
    assert succeed(conn, "GetVirtualHardDiskState", Path=str(child))["State"]["InUse"] is False
    succeed(conn, "ResizeVirtualHardDisk", Path=str(child), MaxInternalSize=Uint64(16 * MIB))
    assert "(16777216 bytes)" in vhdiinfo(child)["Media size"]
    succeed(conn, "CompactVirtualHardDisk", Path=str(base), Mode=Uint16(0))
    message = fail(conn, "MergeVirtualHardDisk", 32773, SourcePath=str(child), DestinationPath=str(base))
    assert message.startswith("DestinationPath:")  # the child has grown past its parent
    succeed(conn, "ResizeVirtualHardDisk", Path=str(base), MaxInternalSize=Uint64(16 * MIB))
    succeed(conn, "MergeVirtualHardDisk", SourcePath=str(child), DestinationPath=str(base))
    assert qemu_info(base, "vpc")["virtual-size"] == 16 * MIB


def test_a_vhdx_in_use_grows_online_but_does_not_shrink(conn, root: Path) -> None:
    disk = root / "online.vhdx"
    create(conn, disk, "dynamic", "vhdx", size=8 * MIB)
    vm = vm_with_disk(conn, "online-vhdx", disk)
    assert request_state(conn, vm, 2)[1]["JobState"] == 7
    fail(conn, "ResizeVirtualHardDisk", 32774, Path=str(disk), MaxInternalSize=Uint64(4 * MIB))
    succeed(conn, "ResizeVirtualHardDisk", Path=str(disk), MaxInternalSize=Uint64(16 * MIB))
    assert qemu_info(disk, "vhdx")["virtual-size"] == 16 * MIB
    assert request_state(conn, vm, 3)[1]["JobState"] == 7
