"""Pass-through disks as os-win attaches them, on both backends: the host
disks an admin listed are the host's Msvm_DiskDrive instances (found by
DriveNumber), a "Physical Disk Drive" RASD naming one in HostResource
attaches it to a VM (libvirt: a raw block disk), and a disk not offered,
a synthetic drive given a host disk, or a listed disk named as an image
file are refused naming the property or the path. The listed disks are
files outside the storage roots: the tests own no real block device."""

from __future__ import annotations

import libvirt
import pytest
from lxml import etree
from pywbem import CIMInstanceName

from tests.integration.model.backends import BACKENDS
from tests.integration.model.hyperv import NS, check, define_vm, service, settings_of, template, wait_job
from tests.integration.storage.vm_client import wmi_path
from tests.support.live import in_process_server

RASD = "Msvm_ResourceAllocationSettingData"
PHYSICAL = "Microsoft:Hyper-V:Physical Disk Drive"


@pytest.fixture(params=sorted(BACKENDS), scope="module")
def served(request, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(request.param)
    disks = [data_dir / "host-disks" / name for name in ("sdb", "sdc")]
    disks[0].parent.mkdir()
    for disk in disks:
        disk.write_bytes(bytes(1024 * 1024))
    with in_process_server(data_dir, passthrough_disks=disks, **BACKENDS[request.param]) as live:
        yield live.connection(NS), disks, request.param


def add(conn, vm, setting) -> tuple[int, dict]:
    code, out = conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm,
                                  ResourceSettings=[setting.tocimxmlstr()])
    if int(code) == 4096:
        job = wait_job(conn, out["Job"])
        return int(job["ErrorCode"]), {"description": job["ErrorDescription"], **out}
    return int(code), out


def vm_with_scsi(conn, name):
    vm = define_vm(conn, name)
    code, out = add(conn, vm, template(conn, RASD, "Microsoft:Hyper-V:Synthetic SCSI Controller"))
    assert code == 0
    return vm, out["ResultingResourceSettings"][0]


def host_disk(conn, number):
    """os-win's get_mounted_disk_by_drive_number."""
    return conn.ExecQuery("WQL", f"SELECT * FROM Msvm_DiskDrive WHERE DriveNumber={number}")


def physical_drive(conn, scsi, disk_path: str):
    drive = template(conn, RASD, PHYSICAL)
    drive["Parent"], drive["Address"], drive["HostResource"] = wmi_path(scsi), "0", [disk_path]
    return drive


def test_the_host_offers_the_listed_disks(served):
    conn, disks, _ = served
    host = next(cs for cs in conn.EnumerateInstances("Msvm_ComputerSystem") if cs["Caption"] == "Hosting Computer System")
    for number, disk in enumerate(disks):
        [found] = host_disk(conn, number)
        assert found["ElementName"] == str(disk) and found["SystemName"] == host["Name"]
        assert conn.GetInstance(found.path)["DriveNumber"] == number
    assert host_disk(conn, len(disks)) == []
    assert template(conn, RASD, PHYSICAL)["ResourceType"] == 17


def test_a_listed_disk_is_attached_to_a_vm(served):
    conn, disks, backend = served
    vm, scsi = vm_with_scsi(conn, "passthrough")
    [disk] = host_disk(conn, 1)
    code, out = add(conn, vm, physical_drive(conn, scsi, wmi_path(disk.path)))
    assert code == 0, out
    rasd = conn.GetInstance(out["ResultingResourceSettings"][0])
    assert rasd["ResourceSubType"] == PHYSICAL
    [named] = rasd["HostResource"]  # the host disk's path, as os-win wrote it
    assert "Msvm_DiskDrive." in named and 'DeviceID="Microsoft:PhysicalDisk\\1"' in named.replace("\\\\", "\\")
    assert settings_of(conn, "Msvm_StorageAllocationSettingData", vm) == []  # no image behind it
    rasd["ElementName"] = "Database disk"
    check(conn, conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[rasd.tocimxmlstr()]))
    modified = conn.GetInstance(rasd.path)
    assert (modified["ElementName"], modified["HostResource"]) == ("Database disk", [named])
    if backend == "libvirt":
        host = libvirt.open("test:///default")
        try:
            xml = etree.fromstring(host.lookupByUUIDString(vm["Name"]).XMLDesc(0).encode())
        finally:
            host.close()
        [block] = [d for d in xml.findall("devices/disk") if d.find("source") is not None and d.find("source").get("dev") == str(disks[1])]
        assert (block.get("type"), block.get("device"), block.find("driver").get("type")) == ("block", "disk", "raw")
    check(conn, conn.InvokeMethod("RemoveResourceSettings", service(conn), ResourceSettings=[rasd.path]))
    assert [s for s in settings_of(conn, RASD, vm) if s["ResourceSubType"] == PHYSICAL] == []


def test_a_disk_the_host_does_not_offer_is_refused(served):
    conn, _, _ = served
    vm, scsi = vm_with_scsi(conn, "not-offered")
    [disk] = host_disk(conn, 0)
    unlisted = CIMInstanceName("Msvm_DiskDrive", keybindings={**disk.path.keybindings, "DeviceID": "Microsoft:PhysicalDisk\\7"})
    for path in (wmi_path(unlisted), "/dev/loop0"):
        code, out = add(conn, vm, physical_drive(conn, scsi, path))
        assert code == 32773 and "HostResource" in out["description"] and path in out["description"].replace("\\\\", "\\")
    synthetic = template(conn, RASD, "Microsoft:Hyper-V:Synthetic Disk Drive")
    synthetic["Parent"], synthetic["Address"], synthetic["HostResource"] = wmi_path(scsi), "0", [wmi_path(disk.path)]
    code, out = add(conn, vm, synthetic)
    assert code == 32773 and "HostResource" in out["description"]
    assert [s for s in settings_of(conn, RASD, vm) if s["ResourceType"] == 17] == []


def test_a_listed_disk_is_no_image_file(served):
    conn, disks, _ = served
    vm, scsi = vm_with_scsi(conn, "as-image")
    drive = template(conn, RASD, "Microsoft:Hyper-V:Synthetic Disk Drive")
    drive["Parent"], drive["Address"] = wmi_path(scsi), "0"
    code, out = add(conn, vm, drive)
    assert code == 0
    image = template(conn, "Msvm_StorageAllocationSettingData", "Microsoft:Hyper-V:Virtual Hard Disk")
    image["Parent"], image["HostResource"] = wmi_path(out["ResultingResourceSettings"][0]), [str(disks[0])]
    code, out = add(conn, vm, image)
    assert code == 32773 and str(disks[0]) in out["description"]
