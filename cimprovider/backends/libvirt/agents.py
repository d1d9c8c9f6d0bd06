"""Whether each running guest's agent went away, from libvirt's agent
lifecycle events. The bulk statistics the sampler reads do not include the
agent, and asking every guest's agent at every interval would cost a round
trip per VM (and a timeout per hung one); the events cost nothing.

QEMU tells libvirt when the guest opens or closes the agent's
virtio-serial port, and libvirt passes it on. A port the guest closed
while running (reason "channel") is an agent that stopped: the guest no
longer answers its integration services, which Hyper-V shows as a lost
heartbeat. It counts only once the port has stayed closed for
GRACE_SECONDS: a guest that shuts down or reboots stops its agent moments
before it goes off or resets, and that is no failure. A reset (libvirt's
reboot event) or a new start begins again with no agent yet (no contact);
the port opening again is the all-clear.

An agent that hangs with its port open sends no event: each running
guest's agent is also pinged on the sampler's cadence (`agent_ping`), and
one that has not answered for GRACE_SECONDS is lost the same way; its
answering again is the all-clear.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from uuid import UUID

import libvirt

from cimprovider.backends.libvirt.agent_ping import AgentPings, Lookup
from cimprovider.schemas.integration import IntegrationServiceKind, IntegrationServiceState
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.runtime import HeartbeatState, RuntimeFigures
from cimprovider.schemas.vm import VirtualMachine

GRACE_SECONDS = 10.0
CONNECTED = libvirt.VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED
DISCONNECTED = libvirt.VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_DISCONNECTED
CLOSED_BY_GUEST = libvirt.VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_CHANNEL
GUEST_STARTED = libvirt.VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_DOMAIN_STARTED


class AgentWatch:
    def __init__(self, clock: Callable[[], float] = time.monotonic, grace_seconds: float = GRACE_SECONDS,
                 lookup: Lookup | None = None) -> None:
        self._clock = clock
        self._grace = grace_seconds
        self._lock = threading.Lock()
        self._closed: dict[UUID, float] = {}  # VM → when its guest closed the agent's port
        self._unanswered: dict[UUID, float] = {}  # VM → when its agent first let a ping go unanswered
        self._pings = AgentPings(lookup, self.on_ping) if lookup is not None else None

    def on_event(self, vm_id: UUID, state: int, reason: int) -> None:
        """An agent lifecycle event (called on libvirt's event thread)."""
        with self._lock:
            if state == DISCONNECTED and reason == CLOSED_BY_GUEST:
                self._closed.setdefault(vm_id, self._clock())
            else:  # the agent is back, or the guest (re)starts without one yet
                self._closed.pop(vm_id, None)
                self._unanswered.pop(vm_id, None)

    def on_ping(self, vm_id: UUID, answered: bool) -> None:
        """What a ping of the VM's agent found (called on a ping thread)."""
        with self._lock:
            if answered:
                self._unanswered.pop(vm_id, None)
            else:
                self._unanswered.setdefault(vm_id, self._clock())

    def silent(self, vm_id: UUID) -> bool:
        """The VM's agent let its last ping go unanswered (a reading need not
        wait for it: the next ping, on the sampler's cadence, asks again)."""
        with self._lock:
            return vm_id in self._unanswered

    def heartbeat(self, vm: VirtualMachine) -> HeartbeatState:
        """LOST_COMMUNICATION for a running VM whose agent has been gone (its
        port closed) or silent (pings unanswered) past the grace, UNKNOWN
        otherwise (the events and pings say nothing more)."""
        with self._lock:
            if vm.power_state in (PowerState.OFF, PowerState.SAVED):
                self._closed.pop(vm.id, None)  # its next run starts afresh
            if vm.power_state is not PowerState.RUNNING:
                self._unanswered.pop(vm.id, None)  # a paused guest answers nothing: no failure
                return HeartbeatState.UNKNOWN  # paused or changing: not answering is expected
            since = min((t for t in (self._closed.get(vm.id), self._unanswered.get(vm.id)) if t is not None), default=None)
        if since is None or not heartbeat_enabled(vm) or self._clock() - since < self._grace:
            return HeartbeatState.UNKNOWN
        return HeartbeatState.LOST_COMMUNICATION

    def heartbeats(self, known: Mapping[UUID, VirtualMachine]) -> dict[UUID, HeartbeatState]:
        """Each VM's heartbeat as the events and pings so far say; called
        once per sampling interval, it sends the running guests' agents the
        pings the next interval reads."""
        with self._lock:
            for gone in set(self._closed) - set(known):
                del self._closed[gone]  # a VM that is gone has no agent to wait for
            for gone in set(self._unanswered) - set(known):
                del self._unanswered[gone]
        found = {vm_id: self.heartbeat(vm) for vm_id, vm in known.items()}
        if self._pings is not None:
            self._pings.ping(vm_id for vm_id, vm in known.items()
                             if vm.power_state is PowerState.RUNNING and heartbeat_enabled(vm))
        return found

    def close(self) -> None:
        if self._pings is not None:
            self._pings.close()

    def figures(self, vm: VirtualMachine, read: RuntimeFigures) -> RuntimeFigures:
        """What a read of the VM found (a closed port reads as no agent),
        told apart from a guest that never had one: one whose agent went
        away reads lost communication, as the VM's health does."""
        if read.heartbeat is not HeartbeatState.NO_CONTACT or self.heartbeat(vm) is not HeartbeatState.LOST_COMMUNICATION:
            return read
        enabled = {s.service for s in vm.integration_services if s.enabled}
        lost = {kind: IntegrationServiceState.LOST_COMMUNICATION for kind in enabled}
        return read.model_copy(update={"heartbeat": HeartbeatState.LOST_COMMUNICATION, "integration_services": lost})


def heartbeat_enabled(vm: VirtualMachine) -> bool:
    return any(s.service is IntegrationServiceKind.HEARTBEAT and s.enabled for s in vm.integration_services)
