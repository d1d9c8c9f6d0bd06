"""One libvirt connection with its event subscriptions, and what happens
when it breaks.

libvirt delivers events only through an event loop the application runs;
the default implementation is process-wide and must be registered before
the first connection opens, so one daemon thread per process runs it for
every backend. Event callbacks run on that thread and must not block it:
they only hand the domain's UUID to the backend, which does the work
elsewhere.

When the connection closes under us (libvirtd restarted, a remote host
gone), `on_health(False, why)` is called and a thread reopens it with
exponential backoff, reporting each failed try; once it is back, events
are registered again and `on_health(True, …)` lets the backend catch up
with what it missed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import libvirt

from cimprovider.backends.errors import HypervisorUnreachableError

log = logging.getLogger(__name__)

DOMAIN_EVENTS = (
    libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
    libvirt.VIR_DOMAIN_EVENT_ID_REBOOT,
    libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
    libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
    libvirt.VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
    libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
)
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_LIMIT_SECONDS = 30.0
KEEPALIVE_INTERVAL_SECONDS = 5
KEEPALIVE_COUNT = 3

_loop_lock = threading.Lock()
_loop_thread: threading.Thread | None = None


def ensure_event_loop() -> None:
    global _loop_thread
    with _loop_lock:
        if _loop_thread is not None:
            return
        libvirt.virEventRegisterDefaultImpl()
        # libvirt prints every error to stderr unless a handler takes them;
        # ours arrive as exceptions and are translated where they are caught.
        libvirt.registerErrorHandler(lambda context, error: None, None)

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()

        _loop_thread = threading.Thread(target=run, name="libvirt-events", daemon=True)
        _loop_thread.start()


# libvirt reports a broken connection with these codes on any call.
CONNECTION_ERRORS = frozenset(
    {libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_RPC, libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_INVALID_CONN}
)


NETWORK_EVENT = "network:"
# (domain UUID, agent state, reason): libvirt's agent lifecycle event, and a
# guest reset as (disconnected, domain started) — a new boot with no agent yet.
AgentListener = Callable[[str, int, int], None]


class LibvirtConnection:
    def __init__(
        self,
        uri: str,
        on_domain_event: Callable[[str], None],
        on_health: Callable[[bool, str], None],
        on_agent: AgentListener | None = None,
    ) -> None:
        ensure_event_loop()
        self.uri = uri
        self._on_domain_event = on_domain_event
        self._on_health = on_health
        self._on_agent = on_agent
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._reconnecting: threading.Thread | None = None
        self._callback_ids: list[int] = []
        self._network_callback_ids: list[int] = []
        self._conn: libvirt.virConnect | None = None
        # Failed reconnection tries since the loss, for the health report.
        self.reconnect_attempts = 0
        self._open()

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def get(self) -> libvirt.virConnect:
        conn = self._conn
        if conn is None:
            raise HypervisorUnreachableError(f"the hypervisor is unreachable: lost the connection to {self.uri}; reconnecting")
        return conn

    def check_error(self, error: libvirt.libvirtError) -> None:
        """A call failed: if the connection is what broke, start recovering."""
        conn = self._conn
        if error.get_error_code() in CONNECTION_ERRORS and conn is not None:
            try:
                alive = conn.isAlive()
            except libvirt.libvirtError:
                alive = False
            if not alive:
                self._lost(conn)

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            self._release(conn)
        thread = self._reconnecting
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=BACKOFF_LIMIT_SECONDS)

    def _open(self) -> None:
        conn = libvirt.open(self.uri)
        try:
            conn.setKeepAlive(KEEPALIVE_INTERVAL_SECONDS, KEEPALIVE_COUNT)
        except libvirt.libvirtError:
            pass  # local drivers have nothing to keep alive
        conn.registerCloseCallback(self._closed_by_libvirt, None)
        # libvirt takes one callback per event: a reset also restarts the agent's story.
        handlers = {libvirt.VIR_DOMAIN_EVENT_ID_REBOOT: self._guest_reset}
        ids = [conn.domainEventRegisterAny(None, event, handlers.get(event, self._domain_event), None) for event in DOMAIN_EVENTS]
        if self._on_agent is not None:
            ids.append(conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE, self._agent_event, None))
        network_ids = [conn.networkEventRegisterAny(None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, self._network_event, None)]
        with self._lock:
            self._conn, self._callback_ids, self._network_callback_ids = conn, ids, network_ids

    def _release(self, conn: libvirt.virConnect) -> None:
        for callback_id in self._callback_ids:
            try:
                conn.domainEventDeregisterAny(callback_id)
            except libvirt.libvirtError:
                pass
        for callback_id in self._network_callback_ids:
            try:
                conn.networkEventDeregisterAny(callback_id)
            except libvirt.libvirtError:
                pass
        try:
            conn.unregisterCloseCallback()
        except libvirt.libvirtError:
            pass
        try:
            conn.close()
        except libvirt.libvirtError:
            pass

    def _domain_event(self, conn: libvirt.virConnect, domain: libvirt.virDomain, *args: object) -> None:
        try:
            self._on_domain_event(domain.UUIDString())
        except Exception:  # an exception here would be lost in libvirt's loop
            log.exception("handling a libvirt event failed")

    def _agent_event(self, conn: libvirt.virConnect, domain: libvirt.virDomain, state: int, reason: int, opaque: object) -> None:
        try:
            if self._on_agent is not None:
                self._on_agent(domain.UUIDString(), state, reason)
        except Exception:  # an exception here would be lost in libvirt's loop
            log.exception("handling a libvirt agent event failed")

    def _guest_reset(self, conn: libvirt.virConnect, domain: libvirt.virDomain, opaque: object) -> None:
        self._domain_event(conn, domain)
        self._agent_event(conn, domain, libvirt.VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_DISCONNECTED,
                          libvirt.VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_DOMAIN_STARTED, opaque)

    def _network_event(self, conn: libvirt.virConnect, network: libvirt.virNetwork, *args: object) -> None:
        """A network defined, undefined, started or stopped (by us or virsh):
        queued as `NETWORK_EVENT` + its UUID, for the backend's switches."""
        try:
            self._on_domain_event(NETWORK_EVENT + network.UUIDString())
        except Exception:  # an exception here would be lost in libvirt's loop
            log.exception("handling a libvirt network event failed")

    def _closed_by_libvirt(self, conn: libvirt.virConnect, reason: int, opaque: object) -> None:
        if reason != libvirt.VIR_CONNECT_CLOSE_REASON_CLIENT:
            self._lost(conn)

    def _lost(self, conn: libvirt.virConnect) -> None:
        with self._lock:
            if self._conn is not conn or self._closing.is_set():
                return
            self._conn = None
        log.warning("lost the connection to %s; reconnecting", self.uri)
        self.reconnect_attempts = 0
        self._on_health(False, f"lost the connection to {self.uri}; reconnecting")
        self._reconnecting = threading.Thread(target=self._reconnect, args=(conn,), name="libvirt-reconnect", daemon=True)
        self._reconnecting.start()

    def _reconnect(self, old: libvirt.virConnect) -> None:
        self._release(old)
        delay = BACKOFF_FIRST_SECONDS
        while not self._closing.wait(delay):
            try:
                self._open()
            except libvirt.libvirtError as error:
                self.reconnect_attempts += 1
                delay = min(delay * 2, BACKOFF_LIMIT_SECONDS)
                log.info("reconnecting to %s failed (%s); next try in %.1f s", self.uri, error, delay)
                self._on_health(
                    False,
                    f"lost the connection to {self.uri}; {self.reconnect_attempts} tries failed"
                    f" ({error.get_error_message()}), next in {delay:.1f} s",
                )
                continue
            if self._closing.is_set():
                self.close()
                return
            log.warning("reconnected to %s", self.uri)
            self.reconnect_attempts = 0
            self._on_health(True, f"connected to {self.uri}")
            return
