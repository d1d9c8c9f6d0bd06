"""A generation 2 VM's boot order, as os-win's vmutils sets it, on both
backends: each drive and network adapter has a Msvm_BootSourceSettingData
reached from its setting through Msvm_LogicalIdentity; the VSSD's
BootSourceOrder lists them; os-win writes back its order upper-cased and
the VM boots that way (libvirt: `<boot order>` on the devices); generation
1's BootOrder keeps working beside it."""

from __future__ import annotations

import libvirt
import pytest
from lxml import etree
from pywbem import CIMInstance, Uint16

from tests.integration.model.backends import BACKENDS
from tests.integration.model.hyperv import NS, check, service, settings_of, template, wait_job
from tests.integration.storage.vm_client import wmi_path
from tests.support.live import in_process_server

VSSD = "Msvm_VirtualSystemSettingData"


@pytest.fixture(params=sorted(BACKENDS), scope="module")
def served(request, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(request.param)
    with in_process_server(data_dir, **BACKENDS[request.param]) as live:
        yield live.connection(NS), data_dir / "storage", request.param


def added(conn, vm, setting):
    return check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm,
                                         ResourceSettings=[setting.tocimxmlstr()]))["ResultingResourceSettings"][0]


def generation_2_vm(conn, storage, name):
    vssd = CIMInstance(VSSD, properties={"ElementName": name, "VirtualSystemSubType": "Microsoft:Hyper-V:SubType:2"})
    vm = check(conn, conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd.tocimxmlstr(), ResourceSettings=[],
                                       ReferenceConfiguration=None))["ResultingSystem"]
    scsi = added(conn, vm, template(conn, "Msvm_ResourceAllocationSettingData", "Microsoft:Hyper-V:Synthetic SCSI Controller"))
    drives = {}
    for slot, subtype in ((0, "Synthetic Disk Drive"), (1, "Synthetic DVD Drive")):
        drive = template(conn, "Msvm_ResourceAllocationSettingData", f"Microsoft:Hyper-V:{subtype}")
        drive["Parent"], drive["AddressOnParent"] = wmi_path(scsi), str(slot)
        drives[subtype] = added(conn, vm, drive)
    storage.mkdir(parents=True, exist_ok=True)
    (storage / f"{name}.vhdx").write_bytes(b"")
    disk = template(conn, "Msvm_StorageAllocationSettingData", "Microsoft:Hyper-V:Virtual Hard Disk")
    disk["Parent"], disk["HostResource"] = wmi_path(drives["Synthetic Disk Drive"]), [str(storage / f"{name}.vhdx")]
    added(conn, vm, disk)
    nic = added(conn, vm, template(conn, "Msvm_SyntheticEthernetPortSettingData"))
    return vm, drives["Synthetic Disk Drive"], drives["Synthetic DVD Drive"], nic


def vssd_of(conn, vm):
    return conn.Associators(vm, AssocClass="Msvm_SettingsDefineState", ResultClass=VSSD)[0]


def boot_source_of(conn, rasd_path):
    """os-win's _drive_to_boot_source: Msvm_LogicalIdentity from the device's setting."""
    [source] = conn.AssociatorNames(rasd_path, AssocClass="Msvm_LogicalIdentity", ResultRole="SameElement")
    return source


def instance_id_of(path_text: str) -> str:
    return path_text.split('InstanceID="', 1)[1].rstrip('"').replace("\\\\", "\\").lower()


def test_reordering_as_os_win_does(served):
    conn, storage, backend = served
    vm, disk, dvd, nic = generation_2_vm(conn, storage, "gen2-boot")
    sources = {name: boot_source_of(conn, path) for name, path in (("disk", disk), ("dvd", dvd), ("nic", nic))}
    assert {n: conn.GetInstance(p)["BootSourceType"] for n, p in sources.items()} == {"disk": 1, "dvd": 1, "nic": 2}
    order = vssd_of(conn, vm)["BootSourceOrder"]
    assert [instance_id_of(text) for text in order] == [sources[n]["InstanceID"].lower() for n in ("disk", "dvd", "nic")]

    # os-win: the wanted devices first, then the others (symmetric difference), every path upper-cased.
    vssd = vssd_of(conn, vm)
    wanted = [text for text in order if instance_id_of(text) in (sources["nic"]["InstanceID"].lower(), sources["disk"]["InstanceID"].lower())]
    wanted.sort(key=lambda text: instance_id_of(text) != sources["nic"]["InstanceID"].lower())
    new_order = [text.upper() for text in wanted]
    rest = sorted(set(text.upper() for text in order) ^ set(new_order))
    vssd["BootSourceOrder"] = new_order + rest
    check(conn, conn.InvokeMethod("ModifySystemSettings", service(conn), SystemSettings=vssd.tocimxmlstr()))
    order = vssd_of(conn, vm)["BootSourceOrder"]
    assert [instance_id_of(text) for text in order] == [sources[n]["InstanceID"].lower() for n in ("nic", "disk", "dvd")]

    if backend == "libvirt":
        domain = libvirt.open("test:///default").lookupByUUIDString(vm["Name"].lower())
        xml = etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        booted = {e.tag + ("/cdrom" if e.get("device") == "cdrom" else ""): e.find("boot").get("order")
                  for e in (*xml.findall("devices/disk"), *xml.findall("devices/interface")) if e.find("boot") is not None}
        assert booted == {"interface": "1", "disk": "2", "disk/cdrom": "3"}
        assert xml.find("os/boot") is None


def test_a_path_of_another_vm_is_refused_by_name(served):
    conn, storage, _ = served
    vm, disk, _, _ = generation_2_vm(conn, storage, "gen2-refuse")
    other, other_disk, _, _ = generation_2_vm(conn, storage, "gen2-other")
    vssd = vssd_of(conn, vm)
    before = list(vssd["BootSourceOrder"])
    vssd["BootSourceOrder"] = [wmi_path(boot_source_of(conn, other_disk))]
    code, out = conn.InvokeMethod("ModifySystemSettings", service(conn), SystemSettings=vssd.tocimxmlstr())
    job = wait_job(conn, out["Job"])
    assert int(code) == 4096 and job["ErrorCode"] == 32773 and "BootSourceOrder" in job["ErrorDescription"]
    assert vssd_of(conn, vm)["BootSourceOrder"] == before


def test_generation_1_boot_order_keeps_working(served):
    conn, _, _ = served
    vssd = CIMInstance(VSSD, properties={"ElementName": "gen1-boot"})
    vm = check(conn, conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd.tocimxmlstr(), ResourceSettings=[],
                                       ReferenceConfiguration=None))["ResultingSystem"]
    vssd = vssd_of(conn, vm)
    assert vssd["BootSourceOrder"] is None
    vssd["BootOrder"] = [Uint16(2), Uint16(1), Uint16(3), Uint16(0)]
    check(conn, conn.InvokeMethod("ModifySystemSettings", service(conn), SystemSettings=vssd.tocimxmlstr()))
    assert list(vssd_of(conn, vm)["BootOrder"]) == [2, 1, 3, 0]
    assert conn.AssociatorNames(settings_of(conn, "Msvm_MemorySettingData", vm)[0].path, AssocClass="Msvm_LogicalIdentity") == []
