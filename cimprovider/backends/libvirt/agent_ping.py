"""Whether each running guest's agent still answers: a `guest-ping` per
agent, on the sampler's cadence. libvirt's agent lifecycle events (see
agents) say when a guest closes the agent's port; an agent that hangs
with its port open (stopped, or its guest wedged) sends none, and only
asking it shows it.

The pings run on a few threads of their own, at most one in flight per
VM, so a hung agent costs the sampler nothing (it reads the answers the
last pings gave) and never more than one waiting thread. A ping that
failed only after its whole timeout is an agent that did not answer; one
refused at once (no agent channel, the port closed, a driver without
agents) says nothing the lifecycle events do not already say."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

import libvirt
import libvirt_qemu

log = logging.getLogger(__name__)

PING = json.dumps({"execute": "guest-ping"})
PING_TIMEOUT_SECONDS = 3
PING_THREADS = 4

Lookup = Callable[[UUID], libvirt.virDomain]
Answered = Callable[[UUID, bool], None]


class AgentPings:
    def __init__(self, lookup: Lookup, answered: Answered, clock: Callable[[], float] = time.monotonic,
                 timeout_seconds: int = PING_TIMEOUT_SECONDS) -> None:
        self._lookup = lookup
        self._answered = answered
        self._clock = clock
        self._timeout = timeout_seconds
        self._lock = threading.Lock()
        self._in_flight: set[UUID] = set()
        self._pool = ThreadPoolExecutor(max_workers=PING_THREADS, thread_name_prefix="agent-ping")
        self._closed = False

    def ping(self, vm_ids: Iterable[UUID]) -> None:
        """Send a ping to each VM's agent that has none waiting for an answer."""
        with self._lock:
            if self._closed:
                return
            for vm_id in vm_ids:
                if vm_id not in self._in_flight:
                    self._in_flight.add(vm_id)
                    self._pool.submit(self._ping, vm_id)

    def _ping(self, vm_id: UUID) -> None:
        started = self._clock()
        try:
            libvirt_qemu.qemuAgentCommand(self._lookup(vm_id), PING, self._timeout, 0)
            self._answered(vm_id, True)
        except libvirt.libvirtError as error:
            if self._clock() - started >= self._timeout:
                log.info("the guest agent of VM %s did not answer a ping within %d s: %s", vm_id, self._timeout, error)
                self._answered(vm_id, False)
        except Exception:  # noqa: BLE001 - a ping must never end the pinging
            log.exception("pinging the guest agent of VM %s failed", vm_id)
        finally:
            with self._lock:
                self._in_flight.discard(vm_id)

    def close(self, wait: bool = False) -> None:
        """No more pings; those waiting for an answer are not waited for
        (a hung agent would hold the close) unless `wait`."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
