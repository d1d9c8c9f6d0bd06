"""Tier 2: while libvirtd is down the server says the hypervisor is
unreachable — to a CIM client (a CIM error saying so, not "internal error"
nor "not found", and one warning line in the log, no traceback) and to the
command line (exit code 3, as for a server it cannot reach; `vm list` does
not print an empty list as if there were no VMs). Holds libvirtd alone
(see `qemu_host.libvirtd_lock`)."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import libvirt
import pytest
import pywbem
from click.testing import CliRunner

import guest
from cimprovider.cli.main import cli
from qemu_host import URI, libvirtd_lock
from test_libvirtd_restart import daemons, until
from tests.support.live import in_process_server

NS = "root/virtualization/v2"


def test_an_unreachable_hypervisor_is_said_so_to_clients_and_the_command_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"cimp-t2-away-{uuid.uuid4().hex[:8]}"
    conn = libvirt.open(URI)
    domain = conn.defineXML(guest.domain_xml(name, tmp_path, tmp_path / "initrd.cpio"))
    vm_guid = domain.UUIDString().upper()
    conn.close()
    try:
        with libvirtd_lock(exclusive=True):
            with in_process_server(tmp_path / "data", backend="libvirt", libvirt_uri=URI) as server:
                away(server, name, vm_guid, caplog)
    finally:
        conn = libvirt.open(URI)
        conn.lookupByName(name).undefine()
        conn.close()


def away(server, name: str, vm_guid: str, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    cim = server.connection(NS)
    vm_path = pywbem.CIMInstanceName(
        "Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem", "Name": vm_guid}, namespace=NS
    )
    assert cim.GetInstance(vm_path)["ElementName"] == name
    runner = CliRunner(mix_stderr=False)
    env = {k: None for k in os.environ if k.startswith("CIMPROVIDER_")}
    env.update({"CIMPROVIDER_SERVER": server.url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull})

    def command(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

    listed = command("vm", "list")
    assert listed.exit_code == 0 and name in listed.stdout

    daemons("stop-libvirtd")
    try:
        until(lambda: not any(s["HealthState"] == 5 for s in cim.EnumerateInstances("Msvm_ComputerSystem")),
              what="the host's lost communication")
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            with pytest.raises(pywbem.CIMError) as raised:
                cim.GetInstance(vm_path)
        description = raised.value.status_description
        assert raised.value.status_code == pywbem.CIM_ERR_FAILED
        assert description.startswith("the hypervisor is unreachable") and URI in description, description
        assert "internal error" not in description and "no virtual machine" not in description
        failures = [r for r in caplog.records if r.name.startswith("cimprovider") and r.levelno >= logging.WARNING]
        assert len(failures) == 1 and failures[0].exc_info is None, [r.getMessage() for r in failures]
        assert "unreachable" in failures[0].getMessage()

        listed = command("vm", "list")
        assert listed.exit_code == 3 and listed.stdout == "", (listed.exit_code, listed.stdout, listed.stderr)
        assert "the hypervisor is unreachable" in listed.stderr and "lost the connection to qemu:///system" in listed.stderr
        stopped = command("vm", "stop", name)
        assert stopped.exit_code == 3 and "the hypervisor is unreachable" in stopped.stderr, stopped.stderr
        assert "no such virtual machine" not in stopped.stderr
        shown = command("vm", "show", vm_guid)
        assert shown.exit_code == 3 and "the hypervisor is unreachable" in shown.stderr, shown.stderr
    finally:
        daemons("start-libvirtd")
    until(lambda: command("vm", "list").exit_code == 0, timeout=60, what="the server reconnecting")
    assert name in command("vm", "list").stdout
