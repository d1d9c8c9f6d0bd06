"""A VHD or VHDX a KVM VM has attached runs on a qcow2 working copy beside
it (libvirt's test driver, real qemu-img), which holds what the guest
writes: the file itself is not the disk's content any more. Compacting,
resizing, merging or re-parenting it is refused (32774) naming the copy —
the change would never reach the guest, and the file, newer than the
copy, would replace it and the guest's writes when attached again — and
the way to carry the guest's disk on, converting the copy, works."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from pywbem import Uint16, Uint32, Uint64

from tests.backends.images.readers import qemu_compare, qemu_io
from tests.integration.model.hyperv import NS, check, request_state, service, settings_of
from tests.integration.storage.vhd_client import MIB, create, fail, succeed, vhdsd
from tests.integration.storage.vm_client import disk_paths, vm_with_disk
from tests.support.live import in_process_server


def test_a_disk_on_a_kvm_working_copy_is_left_as_it_is(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with in_process_server(data, backend="libvirt", libvirt_uri="test:///default") as server:
        conn = server.connection(NS)
        disk = data / "storage" / "kvm-held.vhdx"
        create(conn, disk, "dynamic", "vhdx", size=32 * MIB, BlockSize=Uint32(MIB))
        qemu_io(disk, "vhdx", "write -P 0x51 0 4M", "write -P 0 8M 8M")
        as_attached = tmp_path / "as-attached.vhdx"
        shutil.copyfile(disk, as_attached)
        vm = vm_with_disk(conn, f"held-{uuid.uuid4().hex[:8]}", disk)
        assert disk_paths(conn, vm) == [str(disk)]
        copy = disk.with_name(disk.name + ".qcow2")
        assert request_state(conn, vm, 2)[1]["JobState"] == 7
        qemu_io(copy, "qcow2", "write -P 0x77 1M 1M")  # the guest writes, into the copy

        for method, params in (("CompactVirtualHardDisk", {"Path": str(disk), "Mode": Uint16(0)}),
                               ("ResizeVirtualHardDisk", {"Path": str(disk), "MaxInternalSize": Uint64(64 * MIB)})):
            message = fail(conn, method, 32774, **params)
            assert f"has a qcow2 working copy, {copy}" in message and "ConvertVirtualHardDisk" in message, message
        assert qemu_compare(as_attached, "vhdx", disk, "vhdx") and disk.read_bytes() == as_attached.read_bytes()

        # The disk's settings sent back as read keep the guest on its copy, writes and all.
        (sasd,) = [s for s in settings_of(conn, "Msvm_StorageAllocationSettingData", vm) if s["HostResource"] == [str(disk)]]
        check(conn, conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[sasd.tocimxmlstr()]))
        assert request_state(conn, vm, 3)[1]["JobState"] == 7
        carried = data / "storage" / "carried.vhdx"
        succeed(conn, "ConvertVirtualHardDisk", SourcePath=str(copy), VirtualDiskSettingData=vhdsd(carried, "dynamic", "vhdx", size=None))
        qemu_io(carried, "vhdx", "read -P 0x51 0 1M", "read -P 0x77 1M 1M", "read -P 0x51 2M 2M")
        conn.InvokeMethod("DestroySystem", next(iter(conn.EnumerateInstanceNames("Msvm_VirtualSystemManagementService"))),
                          AffectedSystem=vm)
