"""os-win's way to the snapshot a CreateSnapshot made —
`job.associators(Msvm_AffectedJobElement, Msvm_VirtualSystemSettingData)[0]` —
and DestroySnapshot merging the snapshot's disk over pywbem, read back
with qemu-io."""

from __future__ import annotations

from pathlib import Path

from tests.backends.images.readers import qemu_io
from tests.integration.model.hyperv import check
from tests.integration.storage.snapshots_client import guest_writes, snapshot_service, take_with_job
from tests.integration.storage.vhd_client import MIB, create
from tests.integration.storage.vm_client import disk_paths, vm_with_disk


def test_the_snapshot_is_an_affected_element_of_its_job(conn, root: Path) -> None:
    create(conn, root / "a.vhd", "dynamic", size=4 * MIB)
    vm = vm_with_disk(conn, "os-win", root / "a.vhd")
    snapshot, job = take_with_job(conn, vm)
    found = conn.Associators(job, AssocClass="Msvm_AffectedJobElement", ResultClass="Msvm_VirtualSystemSettingData")
    assert [s["InstanceID"] for s in found] == [snapshot["InstanceID"]]
    assert found[0]["VirtualSystemType"] == "Microsoft:Hyper-V:Snapshot:Realized"
    systems = conn.AssociatorNames(job, AssocClass="Msvm_AffectedJobElement", ResultClass="Msvm_ComputerSystem")
    assert [s["Name"] for s in systems] == [vm["Name"]]


def test_destroying_a_snapshot_merges_the_vm_back_into_its_disk(conn, root: Path) -> None:
    base = root / "system.vhd"
    create(conn, base, "dynamic", size=4 * MIB)
    qemu_io(base, "vpc", "write -P 0x01 0 1M")
    vm = vm_with_disk(conn, "merging", base)
    snapshot, _ = take_with_job(conn, vm)
    child = Path(disk_paths(conn, vm)[0])
    guest_writes(conn, vm, 1, 0x02)
    check(conn, conn.InvokeMethod("DestroySnapshot", snapshot_service(conn), AffectedSnapshot=snapshot))
    assert disk_paths(conn, vm) == [str(base)] and not child.exists()
    qemu_io(base, "vpc", "read -P 0x01 0 1M", "read -P 0x02 1M 1M")
