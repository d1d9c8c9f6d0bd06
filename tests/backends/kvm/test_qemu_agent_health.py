"""Tier 2: a guest whose agent stops is a lost heartbeat, followed from
libvirt's agent lifecycle events (the sampler's bulk statistics do not
include the agent). The tiny guest's qemu-ga is stopped from inside the
guest; once the grace has passed, Msvm_ComputerSystem reads Major Failure
/ Lost Communication while still running, the heartbeat component reads
lost, and subscribers get CIM_AlertIndications; the guest starts its
agent again when the host takes its network link down (the one signal
the host can give a guest with no agent), and the all-clear follows.

An agent that hangs with its port open (stopped with SIGSTOP inside the
guest) raises no lifecycle event: the pings the backend sends on the
sampler's cadence find it silent, and the same alerts follow; it is
resumed (SIGCONT) when the host takes the link down, and the all-clear
follows its first answer.

Each guest's NIC is on a network of a libvirtd in a network namespace
its test creates (netns_host.py): its address exists only there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID
from xml.etree import ElementTree

import libvirt
import libvirt_qemu
import pywbem
from pywbem import CIMInstance

from netns_host import NamespacedHost, machine_interfaces, namespaced_host  # noqa: F401 (fixture)
from netns_libvirtd import namespaced  # noqa: F401 (fixture)
from qemu_host import wait_for_console
from cimprovider.indications.listener import IndicationStream
from cimprovider.schemas import HeartbeatState
from tests.support.alerts import NS, alert_streams, assert_lost_then_cleared, heartbeat_alerts, wait_until
from tests.support.live import in_process_server

ADDRESS = "192.0.2.11"  # TEST-NET-1, only inside each test's namespace
# Stops qemu-ga (after it has answered guest-exec), waits for the host to
# take eth0's link down, then starts qemu-ga again on the agent's port.
STOP_AND_WAIT = """
for port in /sys/class/virtio-ports/*; do
    [ "$(cat $port/name)" = org.qemu.guest_agent.0 ] && dev=/dev/${port##*/}
done
sleep 1
kill $(pidof qemu-ga)
echo "guest: agent stopped" > /dev/console
until [ "$(cat /sys/class/net/eth0/carrier)" = 0 ]; do sleep 0.2; done
qemu-ga -m virtio-serial -p $dev -f /tmp/qemu-ga.pid -t /tmp -l /tmp/qemu-ga.log &
echo "guest: agent started again" > /dev/console
"""


# Stops qemu-ga with SIGSTOP (its port stays open), waits for the host to
# take eth0's link down, then lets qemu-ga go on.
HANG_AND_WAIT = """
sleep 1
agent=$(pidof qemu-ga)
kill -STOP $agent
echo "guest: agent hung" > /dev/console
until [ "$(cat /sys/class/net/eth0/carrier)" = 0 ]; do sleep 0.2; done
kill -CONT $agent
echo "guest: agent resumed" > /dev/console
"""


@dataclass
class AgentGuest:
    """A running guest whose agent answers, a server on its host, and the
    alert subscriptions of a monitoring client."""
    domain: libvirt.virDomain
    console: Path
    conn: pywbem.WBEMConnection
    vm: CIMInstance  # as the server read it, healthy, before the test began
    streams: dict[str, IndicationStream]

    def run(self, script: str, says: str) -> None:
        """The shell script inside the guest, through its agent, until it says `says` on the console."""
        command = {"execute": "guest-exec", "arguments": {"path": "/bin/sh", "arg": ["-c", script]}}
        libvirt_qemu.qemuAgentCommand(self.domain, json.dumps(command), 10, 0)
        wait_for_console(self.console, says)

    def link_down(self, says: str) -> None:
        """Takes the guest's network link down, until it says `says`."""
        interface = ElementTree.fromstring(self.domain.XMLDesc(0)).find("devices/interface")
        assert interface is not None
        ElementTree.SubElement(interface, "link", state="down")
        self.domain.updateDeviceFlags(ElementTree.tostring(interface, encoding="unicode"), libvirt.VIR_DOMAIN_AFFECT_LIVE)
        wait_for_console(self.console, says)

    def alerts(self) -> tuple[CIMInstance, CIMInstance]:
        return heartbeat_alerts(self.streams, self.vm["Name"])

    def read(self) -> CIMInstance:
        return self.conn.GetInstance(self.vm.path)

    def heartbeat(self) -> CIMInstance:
        return self.conn.Associators(self.vm.path, AssocClass="Msvm_SystemDevice", ResultClass="Msvm_HeartbeatComponent")[0]


@contextmanager
def agent_guest(host: NamespacedHost, tmp_path: Path, suffix: str) -> Iterator[AgentGuest]:
    """The guest with its agent and an address, started; once the agent
    answers, a server whose sampler runs each second, the VM read running
    and healthy over CIM, and the alert subscriptions."""
    domain = host.define_guest(suffix, agent=True, address=f"{ADDRESS}/24")
    domain.create()
    console = host.console(domain)
    wait_for_console(console, r"guest: agent on /dev/vport\S+")
    vm_id = UUID(domain.UUIDString())
    wait_until("the agent answering", lambda: host.backend.get_runtime(vm_id).heartbeat is HeartbeatState.OK)

    with in_process_server(tmp_path / "data", backend="libvirt", libvirt_uri=host.uri, libvirt_domain_type="qemu",
                           storage_roots=[host.workdir], metrics_interval_seconds=1) as server:
        conn = server.connection(NS)
        vm = next(s for s in conn.EnumerateInstances("Msvm_ComputerSystem") if s["Name"] == domain.UUIDString().upper())
        assert (vm["EnabledState"], vm["HealthState"]) == (2, 5)
        with alert_streams(server) as streams:
            yield AgentGuest(domain, console, conn, vm, streams)


def assert_only_inside(host: NamespacedHost) -> None:
    """The guest's bridge and address exist only in the test's namespace."""
    outside = machine_interfaces()
    assert host.bridge in host.inside().names and host.bridge not in outside.names and ADDRESS not in outside.addresses


def test_a_guest_whose_agent_stops_loses_its_heartbeat_and_an_alert_says_so(
        namespaced_host: NamespacedHost, tmp_path: Path) -> None:  # noqa: F811
    host = namespaced_host
    with agent_guest(host, tmp_path, "agent-health") as guest:
        guest.run(STOP_AND_WAIT, r"guest: agent stopped")
        lost, component_lost = guest.alerts()
        sick, heartbeat = guest.read(), guest.heartbeat()
        counted = {c.vm_id: c.heartbeat for c in host.backend.vm_counters()}

        guest.link_down(r"guest: agent started again")
        back, component_back = guest.alerts()
        healthy, heartbeat_back = guest.read(), guest.heartbeat()
    assert_lost_then_cleared(sick, lost, component_lost, back, component_back)
    assert "heartbeat is lost" in lost["Description"]
    assert (heartbeat["HealthState"], list(heartbeat["OperationalStatus"])) == (20, [13])
    # The fixture's own backend followed the same event.
    assert counted[UUID(guest.domain.UUIDString())] is HeartbeatState.LOST_COMMUNICATION
    assert (healthy["EnabledState"], healthy["HealthState"], list(healthy["OperationalStatus"])) == (2, 5, [2])
    assert list(heartbeat_back["OperationalStatus"]) == [2]
    assert_only_inside(host)


def test_a_guest_whose_agent_hangs_with_its_port_open_loses_its_heartbeat(
        namespaced_host: NamespacedHost, tmp_path: Path) -> None:  # noqa: F811
    host = namespaced_host
    with agent_guest(host, tmp_path, "agent-hangs") as guest:
        guest.run(HANG_AND_WAIT, r"guest: agent hung")
        lost, component_lost = guest.alerts()
        sick = guest.read()
        channel = ElementTree.fromstring(guest.domain.XMLDesc(0)).find("devices/channel/target")

        guest.link_down(r"guest: agent resumed")
        back, component_back = guest.alerts()
        healthy = guest.read()
    assert channel is not None and channel.get("state") == "connected", "the hung agent's port stays open"
    assert_lost_then_cleared(sick, lost, component_lost, back, component_back)
    assert (healthy["EnabledState"], healthy["HealthState"], list(healthy["OperationalStatus"])) == (2, 5, [2])
    assert_only_inside(host)
