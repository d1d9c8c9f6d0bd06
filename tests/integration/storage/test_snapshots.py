"""Snapshots over pywbem, as os-win takes them: CreateSnapshot, the
snapshot tree in the associations, ApplySnapshot with disk content read
back by libvhdi (vhdimount) and qemu-io, renaming through
ModifySystemSettings, DestroySnapshot and DestroySnapshotTree."""

from __future__ import annotations

from pathlib import Path

import pytest
from pywbem import CIMInstance, Uint16, Uint64

from cimprovider.backends.images import StorageRoots, VhdChain
from tests.backends.images.readers import qemu_io, read_with_libvhdi
from tests.integration.model.hyperv import check, request_state, service, settings_of, state, wait_job
from tests.integration.storage.vhd_client import MIB, create
from tests.integration.storage.vm_client import disk_paths, vm_with_disk

SNAPSHOT_TYPE = "Microsoft:Hyper-V:Snapshot:Realized"


def snapshot_service(conn):
    return conn.EnumerateInstanceNames("Msvm_VirtualSystemSnapshotService")[0]


def take(conn, vm, snapshot_type: int = 2):
    code, out = conn.InvokeMethod("CreateSnapshot", snapshot_service(conn), AffectedSystem=vm,
                                  SnapshotSettings="", SnapshotType=Uint16(snapshot_type))
    assert code == 4096
    job = wait_job(conn, out["Job"])
    assert (job["JobState"], job["ErrorCode"]) == (7, 0), job["ErrorDescription"]
    return out["ResultingSnapshot"]


def apply(conn, snapshot) -> None:
    check(conn, conn.InvokeMethod("ApplySnapshot", snapshot_service(conn), Snapshot=snapshot))


def guest_writes(conn, vm, megabyte: int, byte: int) -> None:
    """The guest writes one MiB into the disk it runs on."""
    disk = Path(disk_paths(conn, vm)[0])
    with VhdChain.open(disk, StorageRoots([disk.parent]), writable={0}) as chain:
        chain.write(megabyte * MIB, bytes([byte]) * MIB)


def disk_content(conn, vm, scratch: Path) -> list[int]:
    """libvhdi's view of the VM's disk: the byte each MiB is filled with."""
    data = read_with_libvhdi(Path(disk_paths(conn, vm)[0]), scratch, 0, 4 * MIB)
    blocks = [data[i * MIB:(i + 1) * MIB] for i in range(4)]
    assert all(block == bytes([block[0]]) * MIB for block in blocks), "a MiB holds mixed content"
    return [block[0] for block in blocks]


def parent_of(conn, snapshot) -> str | None:
    return conn.GetInstance(snapshot)["Parent"]


def most_current(conn, vm):
    found = conn.AssociatorNames(vm, AssocClass="Msvm_MostCurrentSnapshotInBranch")
    assert len(found) <= 1
    return found[0] if found else None


def test_a_tree_three_levels_deep_with_applies_in_between(conn, root: Path, tmp_path: Path) -> None:
    base = root / "system.vhd"
    create(conn, base, "dynamic", size=4 * MIB)
    qemu_io(base, "vpc", "write -P 0x01 0 1M")
    vm = vm_with_disk(conn, "snapshots", base)
    mounts = iter(tmp_path / f"mnt{n}" for n in range(20))

    first = take(conn, vm)
    guest_writes(conn, vm, 1, 0x02)
    check(conn, conn.InvokeMethod("ModifySystemSettings", service(conn), SystemSettings=CIMInstance(
        "Msvm_VirtualSystemSettingData", properties={"InstanceID": f"Microsoft:{vm['Name']}", "Notes": ["after first"]}).tocimxmlstr()))
    second = take(conn, vm)
    guest_writes(conn, vm, 2, 0x03)
    third = take(conn, vm)
    guest_writes(conn, vm, 3, 0x04)
    assert disk_content(conn, vm, next(mounts)) == [1, 2, 3, 4]

    # The tree as a client sees it.
    vssd = conn.GetInstance(third)
    assert vssd["VirtualSystemType"] == SNAPSHOT_TYPE and vssd["VirtualSystemIdentifier"] == vm["Name"]
    assert parent_of(conn, first) is None
    assert second["InstanceID"] in parent_of(conn, third) and first["InstanceID"] in parent_of(conn, second)
    listed = conn.AssociatorNames(vm, AssocClass="Msvm_SnapshotOfVirtualSystem", ResultClass="Msvm_VirtualSystemSettingData")
    assert {p["InstanceID"] for p in listed} == {s["InstanceID"] for s in (first, second, third)}
    assert most_current(conn, vm)["InstanceID"] == third["InstanceID"]
    children = conn.AssociatorNames(second, AssocClass="Msvm_ParentChildSettingData", Role="Antecedent")
    assert [c["InstanceID"] for c in children] == [third["InstanceID"]]
    realized = [i for i in conn.EnumerateInstances("Msvm_VirtualSystemSettingData")
                if i["VirtualSystemType"] == "Microsoft:Hyper-V:System:Realized" and i["VirtualSystemIdentifier"] == vm["Name"]]
    assert third["InstanceID"] in realized[0]["Parent"]

    # Back to the first: the later writes and settings are gone.
    apply(conn, first)
    assert disk_content(conn, vm, next(mounts)) == [1, 0, 0, 0]
    assert conn.GetInstance(conn.AssociatorNames(vm, AssocClass="Msvm_SettingsDefineState")[0])["Notes"] == [""]
    applied = conn.AssociatorNames(vm, AssocClass="Msvm_LastAppliedSnapshot")
    assert [a["InstanceID"] for a in applied] == [first["InstanceID"]]
    assert most_current(conn, vm)["InstanceID"] == first["InstanceID"]

    # A second branch from the first snapshot.
    guest_writes(conn, vm, 1, 0x05)
    branch = take(conn, vm)
    assert first["InstanceID"] in parent_of(conn, branch)
    apply(conn, second)
    assert disk_content(conn, vm, next(mounts)) == [1, 2, 0, 0]
    apply(conn, third)
    assert disk_content(conn, vm, next(mounts)) == [1, 2, 3, 0]
    apply(conn, branch)
    assert disk_content(conn, vm, next(mounts)) == [1, 5, 0, 0]
    qemu_io(base, "vpc", "read -P 0x01 0 1M", "read -P 0 1M 3M")  # the client's disk never changed

    # Rename, then destroy one snapshot and then the whole tree.
    check(conn, conn.InvokeMethod("ModifySystemSettings", service(conn), SystemSettings=CIMInstance(
        "Msvm_VirtualSystemSettingData", properties={"InstanceID": second["InstanceID"], "ElementName": "before the upgrade"}).tocimxmlstr()))
    assert conn.GetInstance(second)["ElementName"] == "before the upgrade"
    check(conn, conn.InvokeMethod("DestroySnapshot", snapshot_service(conn), AffectedSnapshot=second))
    assert first["InstanceID"] in parent_of(conn, third)
    apply(conn, third)  # its disk still reads through the destroyed snapshot's
    assert disk_content(conn, vm, next(mounts)) == [1, 2, 3, 0]
    check(conn, conn.InvokeMethod("DestroySnapshotTree", snapshot_service(conn), SnapshotSettingData=first))
    assert conn.AssociatorNames(vm, AssocClass="Msvm_SnapshotOfVirtualSystem") == []
    assert most_current(conn, vm) is None
    assert disk_content(conn, vm, next(mounts)) == [1, 2, 3, 0]  # the VM keeps its current state
    assert base.exists()


def set_user_snapshot_type(conn, vm, user_type: int) -> None:
    check(conn, conn.InvokeMethod("ModifySystemSettings", service(conn), SystemSettings=CIMInstance(
        "Msvm_VirtualSystemSettingData", properties={"InstanceID": f"Microsoft:{vm['Name']}", "UserSnapshotType": Uint16(user_type)}).tocimxmlstr()))


def test_apply_needs_the_vm_off_or_saved(conn, root: Path) -> None:
    base = root / "running.vhd"
    create(conn, base, "dynamic", size=4 * MIB)
    vm = vm_with_disk(conn, "running", base)
    assert request_state(conn, vm, 2)[1]["JobState"] == 7
    production = take(conn, vm)  # the default, production with fallback: the guest's VSS helps, no memory kept
    assert conn.GetInstance(production)["IsSaved"] is False
    set_user_snapshot_type(conn, vm, 5)
    snapshot = take(conn, vm)
    assert conn.GetInstance(snapshot)["IsSaved"] is True  # a standard snapshot of a running VM keeps its memory
    code, out = conn.InvokeMethod("ApplySnapshot", snapshot_service(conn), Snapshot=snapshot)
    assert code == 32775 and out.get("Job") is None
    assert request_state(conn, vm, 3)[1]["JobState"] == 7
    apply(conn, snapshot)
    assert state(conn, vm) == 6  # saved, as it was when the snapshot was taken
    apply(conn, production)
    assert state(conn, vm) == 3


@pytest.mark.parametrize(("user_type", "snapshot_type", "code"), [(2, 2, 32775), (5, 3, 32770), (5, 7, 32773)])
def test_refused_snapshots(conn, root: Path, user_type: int, snapshot_type: int, code: int) -> None:
    disk = root / f"refused-{user_type}-{snapshot_type}.img"
    disk.write_bytes(bytes(64 * 1024))
    vm = vm_with_disk(conn, f"refused-{user_type}-{snapshot_type}", disk)
    set_user_snapshot_type(conn, vm, user_type)
    answer, out = conn.InvokeMethod("CreateSnapshot", snapshot_service(conn), AffectedSystem=vm, SnapshotSettings="", SnapshotType=Uint16(snapshot_type))
    job = wait_job(conn, out["Job"])
    assert (answer, job["JobState"], job["ErrorCode"]) == (4096, 10, code), job["ErrorDescription"]
    assert conn.AssociatorNames(vm, AssocClass="Msvm_SnapshotOfVirtualSystem") == []


def test_a_recovery_snapshot(conn, root: Path) -> None:
    (root / "raw.img").write_bytes(bytes(64 * 1024))
    vm = vm_with_disk(conn, "recovery", root / "raw.img")  # not a VHD: a disk kept by reference only
    snapshot = take(conn, vm, 32768)
    assert conn.GetInstance(snapshot)["VirtualSystemType"] == "Microsoft:Hyper-V:Snapshot:Recovery"
    assert disk_paths(conn, vm) == [str(root / "raw.img")]


def test_the_settings_of_a_vm_with_snapshots_are_changed_as_read_back(conn, root: Path) -> None:
    """A client changes the VM's settings as WMI taught it: the whole VSSD
    read back, a few properties changed. Once the VM has a snapshot the VSSD
    names it as Parent, and sending that back unchanged is no request; a
    Parent naming another snapshot is (the VM runs from its own), refused."""
    (root / "named.img").write_bytes(bytes(64 * 1024))
    vm = vm_with_disk(conn, "renamed-with-snapshots", root / "named.img")
    first = take(conn, vm)
    second = take(conn, vm)
    settings = conn.GetInstance(conn.AssociatorNames(vm, AssocClass="Msvm_SettingsDefineState")[0])
    assert second["InstanceID"] in settings["Parent"]
    settings["ElementName"], settings["Notes"] = "renamed", ["with two snapshots"]
    check(conn, conn.InvokeMethod("ModifySystemSettings", service(conn), SystemSettings=settings.tocimxmlstr()))
    now = conn.GetInstance(settings.path)
    assert (now["ElementName"], now["Notes"], now["Parent"]) == ("renamed", ["with two snapshots"], settings["Parent"])

    settings["Parent"] = settings["Parent"].replace(second["InstanceID"], first["InstanceID"])
    code, out = conn.InvokeMethod("ModifySystemSettings", service(conn), SystemSettings=settings.tocimxmlstr())
    failed = wait_job(conn, out["Job"]) if code == 4096 else {"ErrorCode": code, "ErrorDescription": ""}
    assert failed["ErrorCode"] == 32770 and failed["ErrorDescription"].startswith("Parent:"), failed["ErrorDescription"]
    assert conn.GetInstance(settings.path)["Parent"] == now["Parent"]


def test_a_snapshot_shows_the_settings_it_froze(conn, root: Path) -> None:
    """As a checkpoint's in Hyper-V: its VSSD's components are the memory
    and disks the VM had then, each under the snapshot's own GUID, read by
    association, by path and by enumeration, and not to be changed."""
    base = root / "frozen.vhd"
    create(conn, base, "dynamic", size=4 * MIB)
    vm = vm_with_disk(conn, "frozen-settings", base)
    snapshot = take(conn, vm)
    (memory,) = settings_of(conn, "Msvm_MemorySettingData", vm)
    then = memory["VirtualQuantity"]
    memory["VirtualQuantity"] = Uint64(then * 2)
    check(conn, conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[memory.tocimxmlstr()]))

    frozen = conn.Associators(snapshot, AssocClass="Msvm_VirtualSystemSettingDataComponent")
    guid = snapshot["InstanceID"].removeprefix("Microsoft:")
    assert frozen and all(i["InstanceID"].startswith(f"Microsoft:{guid}\\") for i in frozen)
    (frozen_memory,) = [i for i in frozen if i.classname == "Msvm_MemorySettingData"]
    assert frozen_memory["VirtualQuantity"] == then
    (frozen_disk,) = [i for i in frozen if i.classname == "Msvm_StorageAllocationSettingData"]
    assert frozen_disk["HostResource"] == [str(base)]  # the frozen file; the VM writes to its child
    assert disk_paths(conn, vm) != [str(base)]
    assert conn.GetInstance(frozen_disk.path)["HostResource"] == [str(base)]
    (owner,) = conn.AssociatorNames(frozen_memory.path, AssocClass="Msvm_VirtualSystemSettingDataComponent")
    assert owner["InstanceID"] == snapshot["InstanceID"]
    assert frozen_memory["InstanceID"] in {p["InstanceID"] for p in conn.EnumerateInstanceNames("Msvm_MemorySettingData")}
    assert [m["VirtualQuantity"] for m in settings_of(conn, "Msvm_MemorySettingData", vm)] == [then * 2]

    frozen_memory["VirtualQuantity"] = Uint64(then * 4)
    code, out = conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[frozen_memory.tocimxmlstr()])
    failed = wait_job(conn, out["Job"]) if code == 4096 else {"ErrorCode": code, "ErrorDescription": ""}
    assert failed["ErrorCode"] == 32773 and "snapshot's setting" in failed["ErrorDescription"], failed["ErrorDescription"]
    assert conn.GetInstance(frozen_memory.path)["VirtualQuantity"] == then
