"""Tier 2: a guest on an internal switch reaches the host, everything made
over CIM-XML as a Hyper-V client makes it: the switch through the switch
service's DefineSystem with the host's port, the guest's adapter through
AddResourceSettings and its connection through a port allocation whose
HostResource is the switch. The guest pings the host's address on the
switch and fetches a page from a web server listening there; the server
logs the guest's request. Its port disabled while the guest runs, the
host is out of the guest's reach; enabled again, back within it.

The host's address lives on a bridge in a network namespace this test
creates, with a libvirtd of its own (netns_libvirtd.py): the web server
runs there too, and nothing of it shows in the machine's own interfaces."""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import libvirt
from lxml import etree
from pywbem import CIMInstanceName, Uint16

import guest
from netns_libvirtd import Namespaced, namespaced  # noqa: F401 (fixture)
from qemu_host import console_size, wait_for_console
from tests.integration.model.hyperv import check, request_state, service
from tests.integration.model.switches import add_adapter, connect, define_switch, host_path, ports_of_switch
from tests.support.live import in_process_server
from tests.support.waiting import DEADLINE

NS = "root/virtualization/v2"
PORT = 8080
GREETING = "hello from the host side of the switch"


def test_a_guest_on_an_internal_switch_reaches_the_hosts_address(namespaced: Namespaced, tmp_path: Path) -> None:
    daemon, conn, workdir, initrd = namespaced.daemon, namespaced.conn, namespaced.workdir, namespaced.initrd
    with in_process_server(tmp_path / "data", backend="libvirt", libvirt_uri=daemon.uri, libvirt_domain_type="qemu",
                           storage_roots=[workdir]) as server:
        cim = server.connection(NS)
        switch = define_switch(cim, "host-only", "internal")
        internal = cim.Associators(host_path(cim), AssocClass="Msvm_SystemDevice", ResultClass="Msvm_InternalEthernetPort")
        assert "host-only" in [p["ElementName"] for p in internal]

        host_address = _host_address(conn, switch)
        assert f" {host_address}/24" in daemon.addresses()
        assert host_address not in subprocess.run(["ip", "-br", "addr"], check=True, capture_output=True, text=True).stdout
        guest_address = str(ipaddress.ip_address(host_address) + 1)
        url = f"http://{host_address}:{PORT}/greeting"
        site = workdir / "site"
        site.mkdir()
        (site / "greeting").write_text(GREETING)
        web_log = workdir / "web.log"
        daemon.run_inside([sys.executable, "-u", "-m", "http.server", "--bind", host_address, "--directory", str(site),
                           str(PORT)], web_log)
        _wait_for_line(web_log, rf"^Serving HTTP on {re.escape(host_address)} port {PORT}")

        name = f"cimp-t2-{os.getpid()}-internal"
        conn.defineXML(guest.domain_xml(name, workdir, initrd, address=f"{guest_address}/24", pings=(host_address,),
                                        fetches=(url,)))
        vm = next(p for p in cim.EnumerateInstanceNames("Msvm_ComputerSystem") if _element_name(cim, p) == name)
        add_adapter(cim, vm, "port-internal")
        allocation = connect(cim, switch, "port-internal")
        assert "port-internal" in [p["ElementName"] for p in ports_of_switch(cim, switch)]
        code, job = request_state(cim, vm, 2)
        assert (code, job["JobState"]) == (4096, 7), job["ErrorDescription"]

        console = workdir / f"{name}.console"
        wait_for_console(console, rf"guest: reach {re.escape(host_address)} yes")
        wait_for_console(console, rf"guest: fetched {re.escape(url)}: {GREETING}")
        _wait_for_line(web_log, rf'^{re.escape(guest_address)} - - .*"GET /greeting HTTP/1\.1" 200')

        # Disconnected while it runs, the port kept (os-win's disconnect_switch_port): the host is out of reach.
        _port_enabled(cim, allocation, False)
        mark = console_size(console)
        wait_for_console(console, rf"guest: reach {re.escape(host_address)} no", after=mark)
        _port_enabled(cim, allocation, True)
        mark = console_size(console)
        wait_for_console(console, rf"guest: reach {re.escape(host_address)} yes", after=mark)
        assert request_state(cim, vm, 3)[0] == 4096


def _host_address(conn: libvirt.virConnect, switch: CIMInstanceName) -> str:
    """The host's address on the switch, as libvirt gave the network it."""
    network = conn.networkLookupByUUID(UUID(switch["Name"]).bytes)
    assert network.isActive()
    ip = etree.fromstring(network.XMLDesc(0)).find("ip")
    assert ip is not None, "an internal switch's network has no host address"
    return ip.get("address")


def _port_enabled(cim, allocation: CIMInstanceName, enabled: bool) -> None:  # type: ignore[no-untyped-def]
    current = cim.GetInstance(allocation)
    current["EnabledState"] = Uint16(2 if enabled else 3)
    check(cim, cim.InvokeMethod("ModifyResourceSettings", service(cim), ResourceSettings=[current.tocimxmlstr()]))


def _element_name(cim, path: CIMInstanceName) -> str:  # type: ignore[no-untyped-def]
    return cim.GetInstance(path, PropertyList=["ElementName"])["ElementName"]


def _wait_for_line(path: Path, pattern: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if path.exists() and re.search(pattern, path.read_text(errors="replace"), re.MULTILINE):
            return
        time.sleep(0.5)
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    raise AssertionError(f"the host never logged {pattern!r}; its log:\n{text}")
