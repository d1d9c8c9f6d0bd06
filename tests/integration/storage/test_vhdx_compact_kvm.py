"""CompactVirtualHardDisk on a KVM host (libvirt's test driver, real
qemu-img): a VHDX a VM has attached compacts as on the simulated host —
the VM runs on its qcow2 working copy, which the compaction leaves as it
was — and the file still reads the same."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from pywbem import Uint16, Uint32

from tests.backends.images.readers import qemu_check, qemu_compare, qemu_io
from tests.integration.model.hyperv import NS, request_state
from tests.integration.storage.vhd_client import MIB, create, succeed
from tests.integration.storage.vm_client import disk_paths, vm_with_disk
from tests.support.live import in_process_server


def test_a_vhdx_attached_on_kvm_compacts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with in_process_server(data, backend="libvirt", libvirt_uri="test:///default") as server:
        conn = server.connection(NS)
        disk = data / "storage" / "kvm-compact.vhdx"
        create(conn, disk, "dynamic", "vhdx", size=32 * MIB, BlockSize=Uint32(MIB))
        qemu_io(disk, "vhdx", "write -P 0x51 0 4M", "write -P 0x52 8M 8M", "write -P 0 8M 8M")
        as_written = tmp_path / "as-written.vhdx"
        shutil.copyfile(disk, as_written)
        vm = vm_with_disk(conn, f"compact-{uuid.uuid4().hex[:8]}", disk)
        assert disk_paths(conn, vm) == [str(disk)]
        working_copy = disk.with_name(disk.name + ".qcow2")
        assert request_state(conn, vm, 2)[1]["JobState"] == 7
        succeed(conn, "CompactVirtualHardDisk", Path=str(disk), Mode=Uint16(0))
        assert disk.stat().st_size <= as_written.stat().st_size - 8 * MIB
        assert qemu_compare(as_written, "vhdx", disk, "vhdx")
        qemu_check(disk, "vhdx")
        assert qemu_compare(as_written, "vhdx", working_copy, "qcow2"), "the guest's copy changed"
        assert request_state(conn, vm, 3)[1]["JobState"] == 7
        conn.InvokeMethod("DestroySystem", next(iter(conn.EnumerateInstanceNames("Msvm_VirtualSystemManagementService"))),
                          AffectedSystem=vm)
