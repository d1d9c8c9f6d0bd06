"""Tier 2: a virtual processor hot-added with `virsh setvcpus --live` on
real QEMU shows where a client looks for the running guest's processors:
the VM's Msvm_Processor devices and its summary's NumberOfProcessors; its
settings (the definition, what the next start gets) stay as they were."""

from __future__ import annotations

import time
from pathlib import Path

import libvirt
from pywbem import CIMInstanceName, Uint32

from qemu_host import URI, Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from tests.integration.model.hyperv import NS
from tests.support.live import in_process_server


def test_processors_added_live_with_virsh_show_in_the_devices_and_the_summary(host: Host, tmp_path: Path) -> None:
    domain = host.define_guest("vcpus")  # one vCPU of at most two
    domain.create()
    wait_for_console(host.console(domain), r"guest: ready")
    guid = domain.UUIDString().upper()
    vm = CIMInstanceName("Msvm_ComputerSystem", namespace=NS, keybindings={"CreationClassName": "Msvm_ComputerSystem", "Name": guid})
    vssd = CIMInstanceName("Msvm_VirtualSystemSettingData", namespace=NS, keybindings={"InstanceID": f"Microsoft:{guid}"})
    with in_process_server(tmp_path / "data", backend="libvirt", libvirt_uri=URI, libvirt_domain_type="qemu") as server:
        conn = server.connection(NS)
        service = conn.EnumerateInstanceNames("Msvm_VirtualSystemManagementService")[0]

        def seen() -> tuple[int, int, int]:
            processors = conn.Associators(vm, AssocClass="Msvm_SystemDevice", ResultClass="Msvm_Processor")
            _rc, out = conn.InvokeMethod("GetSummaryInformation", service, SettingData=[vssd], RequestedInformation=[Uint32(4)])
            setting = conn.Associators(vssd, AssocClass="Msvm_VirtualSystemSettingDataComponent", ResultClass="Msvm_ProcessorSettingData")
            return len(processors), int(out["SummaryInformation"][0]["NumberOfProcessors"]), int(setting[0]["VirtualQuantity"])

        assert seen() == (1, 1, 1)
        domain.setVcpusFlags(2, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        deadline = time.monotonic() + 30  # QEMU adds the vCPU at once; libvirt reports it when the guest has it
        while (now := seen()) != (2, 2, 1):
            assert time.monotonic() < deadline, f"(devices, summary, setting) stayed {now}"
            time.sleep(0.2)
