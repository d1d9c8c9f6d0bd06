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
from xml.etree import ElementTree
from pathlib import Path
from uuid import UUID

import libvirt
import libvirt_qemu

from netns_host import NamespacedHost, machine_interfaces, namespaced_host  # noqa: F401 (fixture)
from netns_libvirtd import namespaced  # noqa: F401 (fixture)
from qemu_host import wait_for_console
from cimprovider.schemas import HeartbeatState
from tests.support.alerts import NS, about, alert_streams, next_alert, wait_until
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


def link_down(domain: libvirt.virDomain) -> None:
    interface = ElementTree.fromstring(domain.XMLDesc(0)).find("devices/interface")
    assert interface is not None
    ElementTree.SubElement(interface, "link", state="down")
    domain.updateDeviceFlags(ElementTree.tostring(interface, encoding="unicode"), libvirt.VIR_DOMAIN_AFFECT_LIVE)


def test_a_guest_whose_agent_stops_loses_its_heartbeat_and_an_alert_says_so(
        namespaced_host: NamespacedHost, tmp_path: Path) -> None:  # noqa: F811
    host = namespaced_host
    domain = host.define_guest("agent-health", agent=True, address=f"{ADDRESS}/24")
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
            script = {"execute": "guest-exec", "arguments": {"path": "/bin/sh", "arg": ["-c", STOP_AND_WAIT]}}
            libvirt_qemu.qemuAgentCommand(domain, json.dumps(script), 10, 0)
            wait_for_console(console, r"guest: agent stopped")
            lost = next_alert(streams["dmtf"], about(vm["Name"]))
            component_lost = next_alert(streams["wmi"], about(vm["Name"], "Msvm_HeartbeatComponent"))
            sick = conn.GetInstance(vm.path)
            heartbeat = conn.Associators(vm.path, AssocClass="Msvm_SystemDevice", ResultClass="Msvm_HeartbeatComponent")[0]
            counted = {c.vm_id: c.heartbeat for c in host.backend.vm_counters()}

            link_down(domain)
            wait_for_console(console, r"guest: agent started again")
            back = next_alert(streams["dmtf"], about(vm["Name"]))
            component_back = next_alert(streams["wmi"], about(vm["Name"], "Msvm_HeartbeatComponent"))
        healthy = conn.GetInstance(vm.path)
        heartbeat_back = conn.Associators(vm.path, AssocClass="Msvm_SystemDevice", ResultClass="Msvm_HeartbeatComponent")[0]
    assert (sick["EnabledState"], sick["HealthState"], list(sick["OperationalStatus"])) == (2, 20, [13])
    assert "heartbeat is lost" in sick["StatusDescriptions"][0]
    assert (heartbeat["HealthState"], list(heartbeat["OperationalStatus"])) == (20, [13])
    assert counted[vm_id] is HeartbeatState.LOST_COMMUNICATION  # the fixture's own backend followed the same event
    assert (lost["PerceivedSeverity"], lost["ProbableCause"]) == (5, 30)  # Major, Loss of Signal
    assert "heartbeat is lost" in lost["Description"]
    assert (component_lost["PerceivedSeverity"], component_lost["ProbableCause"]) == (5, 30)
    assert (back["PerceivedSeverity"], back["ProbableCause"]) == (2, 59)  # Information, Previous Alert Cleared
    assert (component_back["PerceivedSeverity"], component_back["ProbableCause"]) == (2, 59)
    assert (healthy["EnabledState"], healthy["HealthState"], list(healthy["OperationalStatus"])) == (2, 5, [2])
    assert list(heartbeat_back["OperationalStatus"]) == [2]
    outside = machine_interfaces()
    assert host.bridge in host.inside().names and host.bridge not in outside.names and ADDRESS not in outside.addresses


def test_a_guest_whose_agent_hangs_with_its_port_open_loses_its_heartbeat(
        namespaced_host: NamespacedHost, tmp_path: Path) -> None:  # noqa: F811
    host = namespaced_host
    domain = host.define_guest("agent-hangs", agent=True, address=f"{ADDRESS}/24")
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
            script = {"execute": "guest-exec", "arguments": {"path": "/bin/sh", "arg": ["-c", HANG_AND_WAIT]}}
            libvirt_qemu.qemuAgentCommand(domain, json.dumps(script), 10, 0)
            wait_for_console(console, r"guest: agent hung")
            lost = next_alert(streams["dmtf"], about(vm["Name"]))
            component_lost = next_alert(streams["wmi"], about(vm["Name"], "Msvm_HeartbeatComponent"))
            sick = conn.GetInstance(vm.path)
            channel = ElementTree.fromstring(domain.XMLDesc(0)).find("devices/channel/target")

            link_down(domain)
            wait_for_console(console, r"guest: agent resumed")
            back = next_alert(streams["dmtf"], about(vm["Name"]))
            component_back = next_alert(streams["wmi"], about(vm["Name"], "Msvm_HeartbeatComponent"))
        healthy = conn.GetInstance(vm.path)
    assert channel is not None and channel.get("state") == "connected", "the hung agent's port stays open"
    assert (sick["EnabledState"], sick["HealthState"], list(sick["OperationalStatus"])) == (2, 20, [13])
    assert "heartbeat is lost" in sick["StatusDescriptions"][0]
    assert (lost["PerceivedSeverity"], lost["ProbableCause"]) == (5, 30)  # Major, Loss of Signal
    assert (component_lost["PerceivedSeverity"], component_lost["ProbableCause"]) == (5, 30)
    assert (back["PerceivedSeverity"], back["ProbableCause"]) == (2, 59)  # Information, Previous Alert Cleared
    assert (component_back["PerceivedSeverity"], component_back["ProbableCause"]) == (2, 59)
    assert (healthy["EnabledState"], healthy["HealthState"], list(healthy["OperationalStatus"])) == (2, 5, [2])
    outside = machine_interfaces()
    assert host.bridge in host.inside().names and host.bridge not in outside.names and ADDRESS not in outside.addresses
