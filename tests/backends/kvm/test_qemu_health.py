"""Tier 2: a guest the hypervisor stops by itself is not "Operating
normally". QEMU stopping the guest on its own (as it does on an emulation
or KVM internal error: here its `stop` command, sent past libvirt) leaves
it paused with no reason libvirt can name, and a QEMU process that dies
leaves it off as crashed; Msvm_ComputerSystem and the summary then show
Critical Failure (25) and Error (6) with why, and OK again once the guest
runs as asked."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import libvirt_qemu
from pywbem import CIMInstanceName, Uint32

from qemu_host import URI, Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from tests.integration.model.hyperv import NS
from tests.support.live import in_process_server


def until(read: Callable[[], dict], accept: Callable[[dict], bool], what: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if accept(value):
            return value
        assert time.monotonic() < deadline, f"{what} never came: {value}"
        time.sleep(0.2)


def test_a_guest_stopped_by_the_hypervisor_is_critical_not_operating_normally(host: Host, tmp_path: Path) -> None:
    domain = host.define_guest("health")
    domain.create()
    wait_for_console(host.console(domain), r"guest: ready")
    path = CIMInstanceName("Msvm_ComputerSystem", namespace=NS,
                           keybindings={"CreationClassName": "Msvm_ComputerSystem", "Name": domain.UUIDString().upper()})
    with in_process_server(tmp_path / "data", backend="libvirt", libvirt_uri=URI, libvirt_domain_type="qemu") as server:
        conn = server.connection(NS)
        service = conn.EnumerateInstanceNames("Msvm_VirtualSystemManagementService")[0]
        vssd = CIMInstanceName("Msvm_VirtualSystemSettingData", namespace=NS, keybindings={"InstanceID": f"Microsoft:{path['Name']}"})

        def system() -> dict:
            return dict(conn.GetInstance(path).items())

        def summary() -> dict:
            _rc, out = conn.InvokeMethod("GetSummaryInformation", service, SettingData=[vssd],
                                         RequestedInformation=[Uint32(c) for c in (100, 109, 110, 111)])
            return dict(out["SummaryInformation"][0].items())

        running = system()
        assert (running["EnabledState"], running["HealthState"], list(running["OperationalStatus"])) == (2, 5, [2])
        assert list(running["StatusDescriptions"]) == ["Operating normally"]

        libvirt_qemu.qemuMonitorCommand(domain, '{"execute": "stop"}', 0)
        stopped = until(system, lambda s: s["EnabledState"] == 9, "the paused state")
        assert (stopped["HealthState"], list(stopped["OperationalStatus"])) == (25, [6])
        assert "not by a request" in stopped["StatusDescriptions"][0]
        told = summary()
        assert (told["EnabledState"], told["HealthState"], list(told["OperationalStatus"])) == (9, 25, [6])
        assert list(told["StatusDescriptions"]) == list(stopped["StatusDescriptions"])

        domain.resume()
        until(system, lambda s: s["EnabledState"] == 2 and s["HealthState"] == 5, "the guest running and healthy")

        pid = int(Path(f"/run/libvirt/qemu/{domain.name()}.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        crashed = until(system, lambda s: s["EnabledState"] == 3, "the off state")
        assert (crashed["HealthState"], list(crashed["OperationalStatus"])) == (25, [6])
        assert "crashed" in crashed["StatusDescriptions"][0]
