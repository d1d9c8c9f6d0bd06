"""DefineSystem with a ReferenceConfiguration clones a VM: new GUID, new
device InstanceIDs, new dynamic MAC addresses (a static one is kept) and
its own copy of each disk, which reads the source's content (qemu-io and
libvhdi) and whose writes never reach the source, nor the source's the clone."""

from __future__ import annotations

from pathlib import Path

from tests.backends.images.readers import qemu_io, qemu_io_mismatch, read_with_libvhdi
from tests.integration.model.hyperv import check, service, settings_of, template, wait_job
from tests.integration.storage.snapshots_client import guest_writes, take
from tests.integration.storage.transfer_client import clone
from tests.integration.storage.vhd_client import MIB, create
from tests.integration.storage.vm_client import disk_paths, vm_with_disk

NIC = "Msvm_SyntheticEthernetPortSettingData"


def add_nic(conn, vm, mac: str | None = None) -> None:
    nic = template(conn, NIC, "Microsoft:Hyper-V:Synthetic Ethernet Port")
    if mac is not None:
        nic["Address"], nic["StaticMacAddress"] = mac, True
    check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[nic.tocimxmlstr()]))


def macs(conn, vm) -> list[tuple[str, bool]]:
    return sorted((n["Address"], bool(n["StaticMacAddress"])) for n in settings_of(conn, NIC, vm))


def test_a_clone_has_new_identities_and_its_own_disks(conn, root: Path, tmp_path: Path) -> None:
    base = root / "golden.vhd"
    create(conn, base, "dynamic", size=4 * MIB)
    qemu_io(base, "vpc", "write -P 0x41 0 1M")
    source = vm_with_disk(conn, "golden", base)
    add_nic(conn, source)
    add_nic(conn, source, "00155D0000AB")
    take(conn, source)  # the source runs on a differencing child: the clone gets the flattened chain
    guest_writes(conn, source, 1, 0x42)

    copy = clone(conn, source, "golden-copy")
    assert copy["Name"] != source["Name"]
    assert conn.GetInstance(copy)["ElementName"] == "golden-copy"
    # Devices with GUIDs of their own (NICs) get new ones; IDE places are positional.
    source_ids = {s["InstanceID"].split("\\", 1)[-1] for s in settings_of(conn, NIC, source)}
    copy_ids = {s["InstanceID"].split("\\", 1)[-1] for s in settings_of(conn, NIC, copy)}
    assert len(copy_ids) == 2 and not copy_ids & source_ids

    source_macs, copy_macs = macs(conn, source), macs(conn, copy)
    assert ("00155D0000AB", True) in copy_macs
    dynamic = [m for m, static in source_macs if not static]
    assert len(dynamic) == 1 and dynamic[0] not in [m for m, _ in copy_macs]

    copied = Path(disk_paths(conn, copy)[0])
    running_on = Path(disk_paths(conn, source)[0])
    assert copied != running_on and copied.name == "golden.vhd" and copied.parent.name == "Virtual Hard Disks"
    qemu_io(copied, "vpc", "read -P 0x41 0 1M", "read -P 0x42 1M 1M")
    assert read_with_libvhdi(copied, tmp_path / "mnt", 0, 2 * MIB) == bytes([0x41]) * MIB + bytes([0x42]) * MIB

    guest_writes(conn, copy, 0, 0x43)
    guest_writes(conn, source, 2, 0x44)
    assert read_with_libvhdi(running_on, tmp_path / "mnt2", 0, 3 * MIB)[:1] == b"\x41"
    assert not qemu_io_mismatch(base, "vpc", "read -P 0x41 0 1M")
    assert not qemu_io_mismatch(copied, "vpc", "read -P 0 2M 1M")  # the source's later write did not arrive


def test_a_clone_of_an_unreadable_disk_is_refused_and_leaves_nothing(conn, root: Path) -> None:
    create(conn, root / "gone.vhd", "dynamic", size=4 * MIB)
    source = vm_with_disk(conn, "doomed", root / "gone.vhd")
    (root / "gone.vhd").unlink()
    before = {p for p in root.parent.rglob("*")}
    vms = len(conn.EnumerateInstanceNames("Msvm_ComputerSystem"))
    vssd = conn.Associators(source, AssocClass="Msvm_SettingsDefineState", ResultClass="Msvm_VirtualSystemSettingData")[0]
    code, out = conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=None, ResourceSettings=[], ReferenceConfiguration=vssd.path)
    assert code == 4096
    job = wait_job(conn, out["Job"])
    assert (job["JobState"], job["ErrorCode"]) == (10, 32779), job["ErrorDescription"]
    assert len(conn.EnumerateInstanceNames("Msvm_ComputerSystem")) == vms
    assert {p for p in root.parent.rglob("*")} == before


def test_a_clone_asked_for_a_setting_it_cannot_carry_is_refused_by_name(conn, root: Path) -> None:
    create(conn, root / "asked.vhd", "dynamic", size=4 * MIB)
    source = vm_with_disk(conn, "asked", root / "asked.vhd")
    vssd = conn.Associators(source, AssocClass="Msvm_SettingsDefineState", ResultClass="Msvm_VirtualSystemSettingData")[0]
    vssd["ElementName"], vssd["AllowFullSCSICommandSet"] = "asked-copy", True
    vms = len(conn.EnumerateInstanceNames("Msvm_ComputerSystem"))
    code, out = conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd.tocimxmlstr(), ResourceSettings=[],
                                  ReferenceConfiguration=vssd.path)
    job = wait_job(conn, out["Job"])
    assert code == 4096 and job["ErrorCode"] == 32770 and "AllowFullSCSICommandSet" in job["ErrorDescription"]
    assert len(conn.EnumerateInstanceNames("Msvm_ComputerSystem")) == vms

    vssd["AllowFullSCSICommandSet"] = False  # as the source has it: a plain clone, named anew
    out = check(conn, conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd.tocimxmlstr(), ResourceSettings=[],
                                        ReferenceConfiguration=vssd.path))
    assert conn.GetInstance(out["ResultingSystem"])["ElementName"] == "asked-copy"
