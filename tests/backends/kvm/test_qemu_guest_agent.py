"""Tier 2: a guest with qemu-guest-agent on its virtio-serial channel has
its integration services: the backend reports them up and the heartbeat
OK while the agent answers, the intrinsic KVP items are what the agent
says of the guest (host name, OS, IPv4 addresses), a pause shows as
paused, reboot and shutdown go through the agent rather than the ACPI
power button, and an agent that hangs is lost communication, read within
seconds (libvirt alone would wait for it forever), its shutdown going to
the power button. The same over CIM-XML: Msvm_HeartbeatComponent,
Msvm_KvpExchangeComponent.GuestIntrinsicExchangeItems and
Msvm_ShutdownComponent.InitiateShutdown through the agent.

The guest (guest.py) runs Debian's qemu-ga, answers guest-get-osinfo from
its own os-release and runs a /sbin/shutdown that names itself on the
console, so the path a shutdown took is read from the console. Its NIC is
on a network of a libvirtd in a network namespace this test creates
(netns_host.py): the address the agent reports exists only there."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from uuid import UUID
from xml.etree import ElementTree

import libvirt_qemu
from pywbem import CIMInstanceName

from cimprovider.backends import change_power_state
from cimprovider.schemas import HeartbeatState, PowerRequest, PowerState
from cimprovider.schemas.integration import IntegrationServiceKind, IntegrationServiceState, KvpSource
from cimprovider.schemas.runtime import RuntimeFigures
from netns_host import NamespacedHost, machine_interfaces, namespaced_host  # noqa: F401 (fixture)
from netns_libvirtd import namespaced  # noqa: F401 (fixture)
from qemu_host import console_size, wait_for_console
from tests.integration.model.hyperv import NS, state
from tests.support.live import in_process_server

R, S = PowerRequest, PowerState
T = TypeVar("T")
ADDRESS = "192.0.2.10"  # TEST-NET-1, only inside the test's namespace
OS_NAME, OS_VERSION = "cimprovider tiny guest 1.0", "1.0"  # guest.OS_RELEASE's PRETTY_NAME and VERSION_ID
ENABLED = {kind for kind in IntegrationServiceKind if kind is not IntegrationServiceKind.GUEST_SERVICES}


def until(read: Callable[[], T], accept: Callable[[T], bool], timeout: float = 30, what: str = "the value") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} is still {value!r} after {timeout:.0f} s")
        time.sleep(0.5)


def intrinsic(figures: RuntimeFigures) -> dict[str, str]:
    assert all(item.source is KvpSource.INTRINSIC for item in figures.guest_kvp_items)
    return {item.name: item.data for item in figures.guest_kvp_items}


def test_the_guest_agent_is_the_integration_services_heartbeat_kvp_and_reboot_and_a_hung_one_is_lost(
        namespaced_host: NamespacedHost) -> None:  # noqa: F811
    host = namespaced_host
    domain = host.define_guest("agent", agent=True, address=f"{ADDRESS}/24")
    vm_id = UUID(domain.UUIDString())
    backend, console = host.backend, host.console(domain)
    change_power_state(backend, vm_id, R.START)
    wait_for_console(console, r"guest: agent on /dev/vport\S+")

    figures = until(lambda: backend.get_runtime(vm_id), lambda f: f.heartbeat is HeartbeatState.OK,
                    what="the heartbeat")
    assert figures.integration_services == {kind: IntegrationServiceState.OK for kind in ENABLED}
    assert intrinsic(figures) == {
        "FullyQualifiedDomainName": domain.name(),  # the guest's host name; it has no domain
        "OSName": OS_NAME,
        "OSVersion": OS_VERSION,
        "NetworkAddressIPv4": ADDRESS,  # loopback is left out
    }
    outside = machine_interfaces()
    assert host.bridge in host.inside().names and host.bridge not in outside.names and ADDRESS not in outside.addresses

    # Paused, the agent is not asked; resumed, it answers again.
    change_power_state(backend, vm_id, R.PAUSE)
    paused = backend.get_runtime(vm_id)
    assert paused.heartbeat is HeartbeatState.PAUSED and paused.guest_kvp_items == ()
    assert set(paused.integration_services.values()) == {IntegrationServiceState.PAUSED}
    change_power_state(backend, vm_id, R.START)
    until(lambda: backend.get_runtime(vm_id).heartbeat, lambda h: h is HeartbeatState.OK, what="the heartbeat after resume")

    # Reboot takes the agent's path, not ACPI's.
    mark = console_size(console)
    assert change_power_state(backend, vm_id, R.REBOOT).power_state is S.RUNNING
    wait_for_console(console, r"guest: agent shutdown -h -r \+0", after=mark, timeout=60)
    wait_for_console(console, r"guest: agent on /dev/vport", after=mark)
    until(lambda: backend.get_runtime(vm_id).heartbeat, lambda h: h is HeartbeatState.OK, what="the heartbeat after reboot")

    # A hung agent (stopped, its port still open) is lost communication,
    # not absence; a shutdown then falls back to the power button.
    freeze = {"execute": "guest-exec",
              "arguments": {"path": "/bin/sh", "arg": ["-c", "sleep 1; kill -STOP $(pidof qemu-ga)"]}}
    libvirt_qemu.qemuAgentCommand(domain, json.dumps(freeze), 10, 0)
    hung = until(lambda: backend.get_runtime(vm_id),
                 lambda r: r.heartbeat is HeartbeatState.LOST_COMMUNICATION, timeout=60, what="the heartbeat once the agent hangs")
    assert hung.guest_kvp_items == ()
    assert hung.integration_services == {kind: IntegrationServiceState.LOST_COMMUNICATION for kind in ENABLED}
    mark = console_size(console)
    assert change_power_state(backend, vm_id, R.SHUTDOWN).power_state is S.OFF
    text = console.read_bytes()[mark:].decode(errors="replace")
    assert "guest: power button, powering off" in text and "agent shutdown" not in text
    assert backend.get_runtime(vm_id).heartbeat is HeartbeatState.UNKNOWN


def test_over_cim_the_components_show_the_agent_and_initiate_shutdown_uses_it(
        namespaced_host: NamespacedHost, tmp_path: Path) -> None:  # noqa: F811
    host = namespaced_host
    domain = host.define_guest("agent-cim", agent=True, address=f"{ADDRESS}/24")
    vm_id = UUID(domain.UUIDString())
    console = host.console(domain)
    change_power_state(host.backend, vm_id, R.START)
    wait_for_console(console, r"guest: agent on /dev/vport\S+")
    vm = CIMInstanceName("Msvm_ComputerSystem", namespace=NS,
                         keybindings={"CreationClassName": "Msvm_ComputerSystem", "Name": domain.UUIDString().upper()})

    with in_process_server(tmp_path / "data", backend="libvirt", libvirt_uri=host.uri, libvirt_domain_type="qemu",
                           storage_roots=[host.workdir]) as server:
        conn = server.connection(NS)

        def component(classname: str):  # type: ignore[no-untyped-def]
            return conn.Associators(vm, AssocClass="Msvm_SystemDevice", ResultClass=classname)[0]

        heartbeat = until(lambda: component("Msvm_HeartbeatComponent"), lambda c: list(c["OperationalStatus"]) == [2],
                          what="Msvm_HeartbeatComponent")
        assert heartbeat["EnabledState"] == 2
        kvp = component("Msvm_KvpExchangeComponent")
        assert list(kvp["OperationalStatus"]) == [2]
        items = {}
        for text in kvp["GuestIntrinsicExchangeItems"]:
            text = text if isinstance(text, str) else text.tocimxmlstr()
            props = {p.get("NAME"): p.findtext("VALUE") for p in ElementTree.fromstring(text).findall("PROPERTY")}
            assert props["Source"] == "2"  # intrinsic
            items[props["Name"]] = props["Data"]
        assert items == {"FullyQualifiedDomainName": domain.name(), "OSName": OS_NAME, "OSVersion": OS_VERSION,
                         "NetworkAddressIPv4": ADDRESS}

        shutdown = component("Msvm_ShutdownComponent")
        assert list(shutdown["OperationalStatus"]) == [2]
        code, _ = conn.InvokeMethod("InitiateShutdown", shutdown.path, Force=False, Reason="tier 2 agent")
        assert code == 0
        until(lambda: state(conn, vm), lambda s: s == 3, timeout=60, what="EnabledState")
        assert not domain.isActive()
    text = console.read_text(errors="replace")
    assert "guest: agent shutdown" in text and "power button" not in text
