"""Settings the Hyper-V model carries that libvirt has its own elements
for are written there, not only kept in our metadata: a disk's IOPS limit
is the disk's `<iotune>` (in Hyper-V's 8 KB units, QEMU's iops-size), and
limits the model has no word for survive a change of it."""

from __future__ import annotations

import subprocess

import libvirt
from lxml import etree

from backend_scenarios import new_vm
from conftest import BackendHarness
from libvirt_harness import backend, harness  # noqa: F401 (fixtures)
from cimprovider.backends.libvirt import LibvirtBackend
from cimprovider.schemas import Controller, ControllerType, Drive, Media


def domain_xml(harness: BackendHarness, vm_id) -> etree._Element:  # type: ignore[no-untyped-def]
    conn = libvirt.open(harness.config.libvirt_uri)
    try:
        return etree.fromstring(conn.lookupByUUID(vm_id.bytes).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    finally:
        conn.close()


def test_an_iops_limit_is_the_disks_iotune(harness: BackendHarness, backend: LibvirtBackend) -> None:
    vm = new_vm(backend, "qos")
    scsi = backend.add_device(vm.id, Controller(controller_type=ControllerType.SCSI))
    image = harness.config.storage_roots[0] / "q.qcow2"
    image.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "16M"], check=True)
    disk = backend.add_device(vm.id, Drive(controller_id=scsi.id, slot=0, media=Media(path=str(image), iops_limit=500)))
    tune = domain_xml(harness, vm.id).find("devices/disk/iotune")
    assert (tune.findtext("total_iops_sec"), tune.findtext("size_iops_sec")) == ("500", "8192")
    assert backend.get_vm(vm.id).drives[0].media.iops_limit == 500

    # A bandwidth limit set with virsh stays when the model changes the IOPS limit.
    conn = libvirt.open(harness.config.libvirt_uri)
    xml = domain_xml(harness, vm.id)
    etree.SubElement(xml.find("devices/disk/iotune"), "total_bytes_sec").text = "1048576"
    conn.defineXML(etree.tostring(xml, encoding="unicode"))
    conn.close()
    backend.modify_device(vm.id, disk.replace(media=disk.media.replace(iops_limit=0)))
    tune = domain_xml(harness, vm.id).find("devices/disk/iotune")
    assert tune.findtext("total_iops_sec") is None and tune.findtext("total_bytes_sec") == "1048576"
    assert backend.get_vm(vm.id).drives[0].media.iops_limit == 0


def test_serial_numbers_and_asset_tag_are_the_guests_smbios(harness: BackendHarness, backend: LibvirtBackend) -> None:
    vm = new_vm(backend, "smbios", chassis_asset_tag="RACK-7", bios_serial_number="0123-4567")
    xml = domain_xml(harness, vm.id)
    assert xml.find("os/smbios").get("mode") == "sysinfo"
    assert xml.findtext("sysinfo/chassis/entry[@name='asset']") == "RACK-7"
    assert xml.findtext("sysinfo/system/entry[@name='serial']") == "0123-4567"
    vm = backend.get_vm(vm.id)
    assert (vm.chassis_asset_tag, vm.bios_serial_number) == ("RACK-7", "0123-4567")

    backend.modify_vm(vm.id, vm.settings.replace(chassis_asset_tag="", bios_serial_number=""))
    xml = domain_xml(harness, vm.id)
    assert xml.find("sysinfo") is None and xml.find("os/smbios") is None


def cpu_set(text: str) -> set[int]:
    found: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        found |= set(range(int(first), int(last or first) + 1))
    return found


def test_numa_limits_split_the_guest_into_cells_and_back(harness: BackendHarness, backend: LibvirtBackend) -> None:
    vm = new_vm(backend, "numa")
    backend.modify_device(vm.id, vm.processor.replace(count=4, max_processors_per_numa_node=2))
    backend.modify_device(vm.id, backend.get_vm(vm.id).memory.replace(startup_mb=2048, max_per_numa_node_mb=1024))
    xml = domain_xml(harness, vm.id)
    cells = xml.findall("cpu/numa/cell")
    assert [c.get("memory") for c in cells] == [str(1024 * 1024)] * 2
    members = [cpu_set(c.get("cpus")) for c in cells]
    assert {0, 1} <= members[0] and {2, 3} <= members[1] and not members[0] & members[1]
    assert members[0] | members[1] == set(range(int(xml.findtext("vcpu"))))  # hot-pluggable ones too
    vm = backend.get_vm(vm.id)
    assert (vm.processor.max_processors_per_numa_node, vm.memory.max_per_numa_node_mb) == (2, 1024)

    backend.modify_device(vm.id, vm.processor.replace(max_processors_per_numa_node=4))
    backend.modify_device(vm.id, backend.get_vm(vm.id).memory.replace(max_per_numa_node_mb=None))
    assert domain_xml(harness, vm.id).find("cpu/numa") is None


def test_cells_written_with_virsh_are_not_ours_to_remove(harness: BackendHarness, backend: LibvirtBackend) -> None:
    vm = new_vm(backend, "hand-numa")
    backend.modify_device(vm.id, vm.processor.replace(count=2))
    conn = libvirt.open(harness.config.libvirt_uri)
    xml = domain_xml(harness, vm.id)
    numa = etree.SubElement(etree.SubElement(xml, "cpu"), "numa")
    for node in (0, 1):
        etree.SubElement(numa, "cell", id=str(node), cpus=str(node), memory=str(512 * 1024), unit="KiB")
    conn.defineXML(etree.tostring(xml, encoding="unicode"))
    conn.close()
    backend.modify_vm(vm.id, backend.get_vm(vm.id).settings.replace(notes=("still two cells",)))
    assert len(domain_xml(harness, vm.id).findall("cpu/numa/cell")) == 2


def test_secure_boot_is_the_firmwares_and_follows_changes(harness: BackendHarness, backend: LibvirtBackend) -> None:
    vm = new_vm(backend, "uefi", generation=2, secure_boot_enabled=True, secure_boot_template="microsoft_uefi_ca")
    xml = domain_xml(harness, vm.id)
    assert xml.find("os").get("firmware") == "efi"
    features = {f.get("name"): f.get("enabled") for f in xml.findall("os/firmware/feature")}
    assert features == {"secure-boot": "yes", "enrolled-keys": "yes"}
    assert xml.find("features/smm").get("state") == "on"
    assert backend.get_vm(vm.id).secure_boot_template.value == "microsoft_uefi_ca"

    backend.modify_vm(vm.id, backend.get_vm(vm.id).settings.replace(secure_boot_enabled=False))
    xml = domain_xml(harness, vm.id)
    assert {f.get("name"): f.get("enabled") for f in xml.findall("os/firmware/feature")} == {"secure-boot": "no", "enrolled-keys": "no"}
