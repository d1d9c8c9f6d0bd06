"""Watching a server's indications from a client: a pywbem WBEMListener on
loopback, a filter and subscription made by pywbem's subscription manager
(owned, so they are removed on exit), and the indications as they arrive.
This is what a `watch` command needs:

    with watch_indications("http://127.0.0.1:5988", "SELECT * FROM CIM_InstModification "
                           "WHERE SourceInstance ISA Msvm_ComputerSystem") as stream:
        for indication in stream.iterate(timeout=60):
            print(indication["SourceInstance"]["EnabledState"])
"""

from __future__ import annotations

import http.client
import logging
import queue
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pywbem import CIMInstance, WBEMConnection, WBEMListener, WBEMServer, WBEMSubscriptionManager

V2 = "root/virtualization/v2"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now. WBEMListener cannot bind port 0, so
    the port is chosen first; another process could take it in between."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass
class IndicationStream:
    """The indications a listener received, in arrival order."""

    received: queue.Queue[CIMInstance] = field(default_factory=queue.Queue)
    listener_url: str = ""

    def get(self, timeout: float) -> CIMInstance:
        """The next indication; raises queue.Empty after `timeout` seconds."""
        return self.received.get(timeout=timeout)

    def iterate(self, timeout: float | None = None) -> Iterator[CIMInstance]:
        """Indications until `timeout` seconds pass without one (forever if None)."""
        while True:
            try:
                yield self.received.get(timeout=timeout)
            except queue.Empty:
                return

    def collect(self, count: int, timeout: float) -> list[CIMInstance]:
        """Up to `count` indications, waiting at most `timeout` seconds in all."""
        out: list[CIMInstance] = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                out.append(self.received.get(timeout=remaining))
            except queue.Empty:
                break
        return out


# pywbem's callback thread looks for its stop flag only between waits of
# this many seconds (2 by default): the whole of a Ctrl-C's delay.
_CALLBACK_WAIT_SECONDS = 0.1


def await_serving(host: str, port: int, timeout: float = 30) -> None:
    """Return once an HTTP server on host:port answers a request. A bound
    socket queues connections before its serving thread runs, and a
    delivery waiting there can outlast the sender's timeout: a subscription
    made before this would lose its first indications."""
    deadline = time.monotonic() + timeout
    while True:
        probe = http.client.HTTPConnection(host, port, timeout=max(0.1, deadline - time.monotonic()))
        try:
            probe.request("GET", "/")  # a listener answers 405; any answer will do
            probe.getresponse().read()
            return
        except OSError as error:
            if time.monotonic() >= deadline:
                raise OSError(f"the listener on {host}:{port} did not answer within {timeout:.0f} s: {error}") from None
            time.sleep(0.05)
        finally:
            probe.close()


def _drop_record(_record: logging.LogRecord) -> bool:
    return False


@contextmanager
def listening(host: str = "127.0.0.1", port: int | None = None) -> Iterator[IndicationStream]:
    """A WBEMListener on `host` whose indications land in the stream,
    serving by the time the stream is yielded."""
    port = port or free_port(host)
    stream = IndicationStream(listener_url=f"http://{host}:{port}")
    listener = WBEMListener(host, http_port=port)
    listener.queue_get_timeout = _CALLBACK_WAIT_SECONDS
    listener.add_callback(lambda indication, _host: stream.received.put(indication))
    listener.start()
    try:
        # The listener logs its 405 to our probe (before it answers) as a
        # warning, which would land on the watcher's terminal.
        listener.logger.addFilter(_drop_record)
        try:
            await_serving(host, port)
        finally:
            listener.logger.removeFilter(_drop_record)
        yield stream
    finally:
        listener.stop()


@contextmanager
def watch_indications(
    conn: WBEMConnection | str,
    query: str,
    *,
    query_language: str = "DMTF:CQL",
    source_namespaces: list[str] | None = None,
    listener_host: str = "127.0.0.1",
    creds: tuple[str, str] | None = None,
) -> Iterator[IndicationStream]:
    """Subscribe to `query` on the server `conn` (a connection or a URL)
    and yield the stream of what arrives. On exit the subscription, filter
    and destination are removed and the listener is stopped."""
    if isinstance(conn, str):
        conn = WBEMConnection(conn, creds, timeout=30)
    owner = f"watch{uuid.uuid4().hex[:8]}"
    with listening(listener_host) as stream:
        try:
            manager = WBEMSubscriptionManager(owner)
            server_id = manager.add_server(WBEMServer(conn))
            destination = manager.add_destination(server_id, stream.listener_url, owned=True, destination_id="watch")
            indication_filter = manager.add_filter(
                server_id, source_namespaces or [V2], query, query_language, owned=True, filter_id="watch"
            )
            manager.add_subscriptions(server_id, indication_filter.path, [destination.path], owned=True)
            yield stream
        finally:
            remove_owned(conn, owner)


def remove_owned(conn: WBEMConnection, owner: str) -> None:
    """Remove every filter, destination and subscription the server holds
    for `owner`. A manager that is told afresh finds them by name, also
    those created by a request an interrupt cut short, which the manager
    that sent it never recorded."""
    sweeper = WBEMSubscriptionManager(owner)
    sweeper.remove_server(sweeper.add_server(WBEMServer(conn)))
