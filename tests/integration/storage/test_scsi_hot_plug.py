"""Virtual SCSI as os-win drives it: a SCSI controller added to a VM, a disk
hot-added to it and hot-removed again while the VM runs, the guest device
appearing and going; and one image never in two VMs at once, unless it is
an ISO."""

from __future__ import annotations

from pathlib import Path

import pywbem

from tests.integration.model.hyperv import check, define_vm, request_state, service, settings_of, template, wait_job
from tests.integration.storage.vhd_client import create
from tests.integration.storage.vm_client import wmi_path

SCSI = "Microsoft:Hyper-V:Synthetic SCSI Controller"
RUNNING = 2


def add(conn, vm, setting) -> pywbem.CIMInstanceName:
    code, out = conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm,
                                  ResourceSettings=[setting.tocimxmlstr()])
    if code == 4096:
        out = check(conn, (code, out))
    assert code in (0, 4096), code
    return out["ResultingResourceSettings"][0]


def attach(conn, vm, controller_path, slot: int, image: Path, subtype: str = "Virtual Hard Disk",
           drive_subtype: str = "Synthetic Disk Drive") -> tuple[pywbem.CIMInstanceName, pywbem.CIMInstanceName]:
    drive = template(conn, "Msvm_ResourceAllocationSettingData", f"Microsoft:Hyper-V:{drive_subtype}")
    drive["Parent"], drive["AddressOnParent"] = wmi_path(controller_path), str(slot)
    drive_path = add(conn, vm, drive)
    disk = template(conn, "Msvm_StorageAllocationSettingData", f"Microsoft:Hyper-V:{subtype}")
    disk["Parent"], disk["HostResource"] = wmi_path(drive_path), [str(image)]
    return drive_path, add(conn, vm, disk)


def scsi_controller(conn, vm) -> pywbem.CIMInstanceName:
    return add(conn, vm, template(conn, "Msvm_ResourceAllocationSettingData", SCSI))


def test_scsi_disk_hot_added_and_removed_while_running(conn, root: Path) -> None:
    image = root / "hot.vhd"
    create(conn, image)
    vm = define_vm(conn, "hot-plugged")
    controller = scsi_controller(conn, vm)
    assert request_state(conn, vm, RUNNING)[0] == 4096
    drive, disk = attach(conn, vm, controller, 0, image)
    drives = conn.Associators(vm, AssocClass="Msvm_SystemDevice", ResultClass="Msvm_DiskDrive")
    assert len(drives) == 1
    check(conn, conn.InvokeMethod("RemoveResourceSettings", service(conn), ResourceSettings=[disk, drive]))
    assert conn.Associators(vm, AssocClass="Msvm_SystemDevice", ResultClass="Msvm_DiskDrive") == []
    assert [s for s in settings_of(conn, "Msvm_StorageAllocationSettingData", vm)] == []


def test_a_controller_has_64_slots(conn, root: Path) -> None:
    vm = define_vm(conn, "full-scsi")
    controller = scsi_controller(conn, vm)
    drive = template(conn, "Msvm_ResourceAllocationSettingData", "Microsoft:Hyper-V:Synthetic Disk Drive")
    drive["Parent"], drive["AddressOnParent"] = wmi_path(controller), "64"
    code, out = conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm,
                                  ResourceSettings=[drive.tocimxmlstr()])
    if code == 4096:
        job = conn.GetInstance(out["Job"])
        while job["JobState"] not in (7, 8, 9, 10, 32768):
            job = conn.GetInstance(out["Job"])
        code = job["ErrorCode"]
    assert code == 32773


def test_an_image_is_in_one_vm_at_a_time_unless_it_is_an_iso(conn, root: Path) -> None:
    image, iso = root / "shared.vhd", root / "shared.iso"
    create(conn, image)
    iso.write_bytes(b"\0" * 2048 * 16)
    first, second = define_vm(conn, "owner"), define_vm(conn, "borrower")
    attach(conn, first, scsi_controller(conn, first), 0, image)
    drive = template(conn, "Msvm_ResourceAllocationSettingData", "Microsoft:Hyper-V:Synthetic Disk Drive")
    drive["Parent"], drive["AddressOnParent"] = wmi_path(scsi_controller(conn, second)), "0"
    disk = template(conn, "Msvm_StorageAllocationSettingData", "Microsoft:Hyper-V:Virtual Hard Disk")
    disk["Parent"], disk["HostResource"] = wmi_path(add(conn, second, drive)), [str(image)]
    code, out = conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=second,
                                  ResourceSettings=[disk.tocimxmlstr()])
    assert code == 4096
    job = wait_job(conn, out["Job"])
    assert (job["JobState"], job["ErrorCode"]) == (10, 32774)
    assert "already attached to virtual machine 'owner'" in job["ErrorDescription"]
    # Nor twice in one VM: two drives writing one file corrupt it as two guests would.
    again = template(conn, "Msvm_ResourceAllocationSettingData", "Microsoft:Hyper-V:Synthetic Disk Drive")
    again["Parent"], again["AddressOnParent"] = wmi_path(scsi_controller(conn, first)), "1"
    disk["Parent"] = wmi_path(add(conn, first, again))
    code, out = conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=first,
                                  ResourceSettings=[disk.tocimxmlstr()])
    job = wait_job(conn, out["Job"])
    assert (code, job["JobState"], job["ErrorCode"]) == (4096, 10, 32774)
    assert f"{image} is already attached to this virtual machine, on another drive" in job["ErrorDescription"]
    for vm in (first, second):
        attach(conn, vm, scsi_controller(conn, vm), 0, iso, "Virtual CD/DVD Disk", "Synthetic DVD Drive")
