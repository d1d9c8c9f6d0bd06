"""A metered guest as a client builds it on Hyper-V: a VM with a SCSI disk
and a network adapter on the default switch, and waiting on a scrape."""

from __future__ import annotations

import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from pywbem import CIMInstanceName, WBEMConnection

from tests.integration.model.hyperv import check, define_vm, service, template
from tests.integration.model.test_os_win_scenario import DEFAULT_SWITCH, vssd_path, wmi_path

Series = dict[tuple[str, frozenset], float]


def metered_vm(conn: WBEMConnection, name: str) -> CIMInstanceName:
    vm = define_vm(conn, name)
    controller = template(conn, "Msvm_ResourceAllocationSettingData", "Microsoft:Hyper-V:Synthetic SCSI Controller")
    out = check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vssd_path(conn, vm),
                                        ResourceSettings=[controller.tocimxmlstr()]))
    drive = template(conn, "Msvm_ResourceAllocationSettingData", "Microsoft:Hyper-V:Synthetic Disk Drive")
    drive["Parent"] = wmi_path(conn, out["ResultingResourceSettings"][0])
    drive["Address"] = drive["AddressOnParent"] = "0"
    out = check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[drive.tocimxmlstr()]))
    # As os-win does: the disk in the host's default folder for them.
    (settings,) = conn.EnumerateInstances("Msvm_VirtualSystemManagementServiceSettingData")
    image = Path(settings["DefaultVirtualHardDiskPath"]) / f"{name}.vhdx"
    image.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "vhdx", str(image), "8M"], check=True)
    disk = template(conn, "Msvm_StorageAllocationSettingData", "Microsoft:Hyper-V:Virtual Hard Disk")
    disk["Parent"] = wmi_path(conn, out["ResultingResourceSettings"][0])
    disk["HostResource"] = [str(image)]
    check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[disk.tocimxmlstr()]))
    nic = template(conn, "Msvm_SyntheticEthernetPortSettingData")
    nic["ElementName"] = "Network Adapter"
    nic["VirtualSystemIdentifiers"] = ["{%s}" % uuid.uuid4()]
    out = check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vssd_path(conn, vm),
                                        ResourceSettings=[nic.tocimxmlstr()]))
    switch = next(s for s in conn.EnumerateInstanceNames("Msvm_VirtualEthernetSwitch") if s["Name"] == DEFAULT_SWITCH)
    port = template(conn, "Msvm_EthernetPortAllocationSettingData")
    port["HostResource"] = [wmi_path(conn, switch)]
    port["Parent"] = wmi_path(conn, out["ResultingResourceSettings"][0])
    check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[port.tocimxmlstr()]))
    return vm


def scrape(url: str, accept: str | None = None, auth: str | None = None) -> tuple[str, str]:
    """(content type, body) of GET /metrics."""
    headers = {"Accept": accept} if accept else {}
    if auth:
        headers["Authorization"] = auth
    with urllib.request.urlopen(urllib.request.Request(url + "/metrics", headers=headers), timeout=30) as answer:
        return answer.headers["Content-Type"], answer.read().decode()


def series(text: str) -> Series:
    """Every sample of a Prometheus text exposition, by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def of_vm(found: Series, name: str, vm_id: str) -> list[tuple[frozenset, float]]:
    return [(labels, value) for (n, labels), value in found.items() if n == name and ("vm_id", vm_id) in labels]


def wait_until(what: str, condition: Callable[[], object], timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"still not true after {timeout} s: {what}"
        time.sleep(0.05)
