"""Runtime figures of a libvirt domain.

ProcessorLoad is the share of the VM's processors used since the previous
reading (CPU time delta over wall time × vCPUs); the first reading of a run
has no previous one and says 0. MemoryUsage is the balloon's actual size.
The integration services are the QEMU guest agent: where it answers, the
services enabled on the VM are up and the heartbeat is OK; where the guest
has none (no agent channel, or no agent holding its port open), they are
absent and the heartbeat has no contact; where the agent holds its port
open but does not answer (a hung agent or guest), they and the heartbeat
have lost communication, as Hyper-V reports a guest whose integration
services stop answering.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from uuid import UUID

import libvirt
from lxml import etree

from cimprovider.backends.libvirt.display import running_mode
from cimprovider.schemas.integration import IntegrationServiceKind, IntegrationServiceState, KvpItem, KvpSource
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.runtime import HeartbeatState, RuntimeFigures
from cimprovider.schemas.vm import VirtualMachine

AGENT_CHANNEL = "org.qemu.guest_agent.0"
# libvirt waits for an agent's answer forever unless told otherwise, and
# once in sync with the agent it no longer sends the guest-sync that it
# bounds itself: a hung agent would hang every reading of its VM.
AGENT_TIMEOUT_SECONDS = 5
_GUEST_UP = {PowerState.RUNNING, PowerState.PAUSED, PowerState.STOPPING, PowerState.SAVING, PowerState.PAUSING}


@dataclass(frozen=True)
class GuestReport:
    """What the guest agent said, or None for each part it did not answer;
    `port_open` is whether an agent in the guest holds the channel open."""

    addresses: tuple[str, ...] | None
    info: dict[str, str] | None
    port_open: bool = False


class RuntimeSampler:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cpu_samples: dict[UUID, tuple[float, int]] = {}

    def figures(
        self, vm: VirtualMachine, domain: libvirt.virDomain, live: etree._Element, started_at: float | None,
        agent_silent: bool = False,
    ) -> RuntimeFigures:
        """The VM's figures as read now; `agent_silent` (the agent let the
        last ping go unanswered) reads it as not answering without asking
        it again: each question to a hung agent costs AGENT_TIMEOUT_SECONDS."""
        if vm.power_state not in _GUEST_UP:
            with self._lock:
                self._cpu_samples.pop(vm.id, None)
            heartbeat = HeartbeatState.NO_CONTACT if vm.power_state in (PowerState.STARTING, PowerState.RESUMING) else HeartbeatState.UNKNOWN
            return RuntimeFigures(vm_id=vm.id, power_state=vm.power_state, heartbeat=heartbeat)
        _state, _max_kib, memory_kib, vcpus, cpu_time = domain.info()
        paused = vm.power_state is PowerState.PAUSED
        load = 0 if paused else self._load(vm.id, cpu_time, max(vcpus, 1))
        enabled = {service.service for service in vm.integration_services if service.enabled}
        if paused:
            report = GuestReport(None, None)
        else:
            report = silent_agent(live) if agent_silent else probe_agent(domain, live)
        answered = report.addresses is not None
        if paused:
            heartbeat = HeartbeatState.PAUSED
            services = {kind: IntegrationServiceState.PAUSED for kind in enabled}
        elif answered:
            heartbeat = HeartbeatState.OK if IntegrationServiceKind.HEARTBEAT in enabled else HeartbeatState.UNKNOWN
            services = {kind: IntegrationServiceState.OK for kind in enabled}
        elif report.port_open:
            lost = HeartbeatState.LOST_COMMUNICATION
            heartbeat = lost if IntegrationServiceKind.HEARTBEAT in enabled else HeartbeatState.UNKNOWN
            services = {kind: IntegrationServiceState.LOST_COMMUNICATION for kind in enabled}
        else:
            heartbeat, services = HeartbeatState.NO_CONTACT, {}
        items = intrinsic_items(report) if answered and IntegrationServiceKind.KVP_EXCHANGE in enabled else ()
        return RuntimeFigures(
            vm_id=vm.id,
            power_state=vm.power_state,
            uptime_ms=max(0, int((time.time() - started_at) * 1000)) if started_at is not None else 0,
            processor_load_percent=load,
            memory_in_use_mb=_balloon_mb(domain, memory_kib),
            processors_online=max(vcpus, 1),  # the live count: virsh setvcpus --live changes it, not the definition
            display_mode=running_mode(live),  # as the domain runs, not as it is defined for the next start
            heartbeat=heartbeat,
            integration_services=services,
            guest_kvp_items=items,
        )

    def _load(self, vm_id: UUID, cpu_time_ns: int, vcpus: int) -> int:
        now = time.monotonic()
        with self._lock:
            previous = self._cpu_samples.get(vm_id)
            self._cpu_samples[vm_id] = (now, cpu_time_ns)
        if previous is None or now <= previous[0] or cpu_time_ns < previous[1]:
            return 0
        share = (cpu_time_ns - previous[1]) / 1e9 / (now - previous[0]) / vcpus
        return int(min(100, max(0, round(share * 100))))


def _balloon_mb(domain: libvirt.virDomain, fallback_kib: int) -> int:
    try:
        actual = domain.memoryStats().get("actual")
    except libvirt.libvirtError:
        actual = None
    return int((actual or fallback_kib) // 1024)


def silent_agent(live: etree._Element) -> GuestReport:
    """What probe_agent finds of an agent that does not answer, without asking it."""
    channel = live.find(f"devices/channel/target[@name='{AGENT_CHANNEL}']")
    return GuestReport(None, None, channel is not None and channel.get("state") == "connected")


def probe_agent(domain: libvirt.virDomain, live: etree._Element) -> GuestReport:
    """Ask the agent for the guest's addresses (which doubles as a ping) and
    its OS and host name. A channel libvirt shows as disconnected is not
    asked, so a guest without a running agent costs no timeout; a hung
    agent on a connected one costs AGENT_TIMEOUT_SECONDS."""
    channel = live.find(f"devices/channel/target[@name='{AGENT_CHANNEL}']")
    if channel is not None and channel.get("state") == "disconnected":
        return GuestReport(None, None)
    port_open = channel is not None and channel.get("state") == "connected"
    try:
        if channel is not None:
            # Per running domain, in libvirtd's memory: set on every probe,
            # so a restarted domain (or libvirtd) is bounded again.
            domain.agentSetResponseTimeout(AGENT_TIMEOUT_SECONDS, 0)
        interfaces = domain.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT)
    except libvirt.libvirtError:
        return GuestReport(None, None, port_open)
    addresses = tuple(
        address["addr"]
        for name, interface in sorted(interfaces.items())
        for address in interface.get("addrs") or ()
        if address.get("type") == libvirt.VIR_IP_ADDR_TYPE_IPV4 and not address["addr"].startswith("127.")
    )
    try:
        info = domain.guestInfo(libvirt.VIR_DOMAIN_GUEST_INFO_OS | libvirt.VIR_DOMAIN_GUEST_INFO_HOSTNAME, 0)
    except libvirt.libvirtError:
        info = None
    return GuestReport(addresses, info, port_open)


def intrinsic_items(report: GuestReport) -> tuple[KvpItem, ...]:
    """Hyper-V's intrinsic items from what the agent reported; an item the
    agent has no answer for is left out rather than made up."""
    values: dict[str, str] = {}
    info = report.info or {}
    if info.get("hostname"):
        values["FullyQualifiedDomainName"] = info["hostname"]
    if info.get("os.pretty-name") or info.get("os.name"):
        values["OSName"] = info.get("os.pretty-name") or info["os.name"]
    if info.get("os.version-id") or info.get("os.kernel-release"):
        values["OSVersion"] = info.get("os.version-id") or info["os.kernel-release"]
    if report.addresses is not None:
        values["NetworkAddressIPv4"] = ";".join(report.addresses)
    return tuple(KvpItem(name=name, data=data[:1024], source=KvpSource.INTRINSIC) for name, data in values.items())


def guest_power_flags(domain: libvirt.virDomain, acpi_flag: int) -> int:
    """Flags for a shutdown or reboot by the guest. 0 lets libvirt prefer
    the agent and fall back to ACPI, but on an agent that hangs it waits a
    minute first: a domain with an agent channel whose agent does not
    answer now (within AGENT_TIMEOUT_SECONDS) gets `acpi_flag` outright."""
    try:
        live = etree.fromstring(domain.XMLDesc(0))
    except libvirt.libvirtError:
        return 0
    if live.find(f"devices/channel/target[@name='{AGENT_CHANNEL}']") is None:
        return 0
    return 0 if probe_agent(domain, live).addresses is not None else acpi_flag
