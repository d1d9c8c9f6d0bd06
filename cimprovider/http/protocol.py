"""The HTTP/1.1 protocol the server runs: uvicorn's h11 protocol with
trailers (trailers.py), guarded against clients that hold connections
without finishing a request.

uvicorn's h11 protocol waits for a request's headers and body as long as
the client keeps the socket open, and admits every connection the kernel
hands it; a client that trickles a request a byte a second can hold
descriptors until none are left. This protocol

- admits a connection only while the process and the client's address
  are under their limits (limits.py), else answers 503 with Retry-After;
- gives the request head `header_timeout_seconds` from the moment the
  connection is ready for it, and the body `body_timeout_seconds` plus one
  second per `body_min_bytes_per_second` bytes received, else answers 408;
- answers an oversized head 431 (h11's hint) rather than 400;
- after each of these final answers, lingers: stops writing, drops what
  the client still sends for a short while, then closes, so the client
  reads the answer rather than a connection reset;
- hands a websocket upgrade (the web console's consoles) to wsproto with
  the gate's count, which the websocket gives back when it closes: an open
  console holds a connection as long as it lives, and counts as one."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from enum import Enum
from http import HTTPStatus
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
from uvicorn.server import ServerState

from cimprovider.http.limits import LINGER_SECONDS, RETRY_AFTER_SECONDS, ConnectionGate, ConnectionLimits
from cimprovider.http.trailers import TrailerH11Protocol

log = logging.getLogger("cimprovider.http.limits")


# Set in an HTTP scope by an application whose answer never ends by itself
# (server-sent events), so that stopping the server ends it at once.
STREAM_KEY = "cimprovider.stream"


class Phase(Enum):
    HEADERS = "headers"
    BODY = "body"


class _Connection(h11.Connection):
    """h11's connection, keeping the last error the client caused so the
    answer carries h11's status hint (431 for an oversized head)."""

    last_error: h11.RemoteProtocolError | None = None

    def next_event(self) -> Any:
        try:
            return super().next_event()
        except h11.RemoteProtocolError as error:
            self.last_error = error
            raise


def final_answer(status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None) -> bytes:
    """A complete response that closes the connection. Written as bytes,
    not through h11: it may precede any request (a refusal) or cut one
    short, states h11 has no event for."""
    body = text.encode() + b"\n"
    lines = [
        b"HTTP/1.1 %d %s" % (status, HTTPStatus(status).phrase.encode()),
        b"content-type: text/plain; charset=utf-8",
        b"content-length: %d" % len(body),
        b"connection: close",
        *(name + b": " + value for name, value in headers or []),
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# A console websocket carries keystrokes and screen updates, never files.
WEBSOCKET_MAX_MESSAGE_BYTES = 1024 * 1024


class GatedWSProtocol(WSProtocol):
    """wsproto's protocol for a connection the gate counted in as HTTP."""

    release: Callable[[], None] | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.release is not None:
            self.release()
            self.release = None
        super().connection_lost(exc)


class GuardedH11Protocol(TrailerH11Protocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: ConnectionLimits,
        gate: ConnectionGate,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.conn = _Connection(h11.SERVER, limits.max_header_bytes)
        self.limits = limits
        self.gate = gate
        self.address: str | None = None  # set while the gate counts this connection
        self.phase: Phase | None = None
        self.deadline = 0.0
        self.idle_deadline = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.lingering = False
        self.counted_lingering = False
        self.upgraded = False  # the connection is a websocket's now

    # Connection life

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else "local"
        refusal = self.gate.admit(address)
        if refusal is not None:
            log.warning("refused connection from %s: %s", address, refusal)
            retry = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
            self._finish(503, "too many connections; try again later", retry)
            return
        self.address = address
        self._follow_phase()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        if self.address is not None:
            self.gate.release(self.address)
            self.address = None
        if self.counted_lingering:
            self.gate.stop_lingering()
            self.counted_lingering = False
        super().connection_lost(exc)

    def shutdown(self) -> None:
        if self.lingering:
            self.transport.close()  # the answer is written; h11 never saw it
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and cycle.scope.get(STREAM_KEY):
            # An endless answer (the console's event stream) would hold the
            # stop for the whole grace period: tell it the client is gone.
            cycle.disconnected = True
            cycle.message_event.set()
        super().shutdown()

    # Requests

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return  # dropped: the connection has had its final answer
        if self.phase is Phase.BODY:
            self.deadline += len(data) / self.limits.body_min_bytes_per_second
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        self._follow_phase()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # From here the transport belongs to the websocket: no deadline of
        # ours may write an HTTP answer onto it.
        self.upgraded = True
        self._stop_timer()
        self.phase = None
        address, self.address = self.address, None
        super().handle_websocket_upgrade(event)
        if address is None:
            return
        upgraded = self.transport.get_protocol()
        if isinstance(upgraded, GatedWSProtocol) and not upgraded.disconnected:
            upgraded.release = lambda: self.gate.release(address)
        else:
            self.gate.release(address)

    def send_400_response(self, msg: str) -> None:
        error = self.conn.last_error
        status = error.error_status_hint if error is not None else 400
        if status == 431:
            text = f"request header fields too large (over {self.limits.max_header_bytes} bytes)"
        else:
            text = msg
        self._finish(status, text)

    # Deadlines

    def _follow_phase(self) -> None:
        """Start the deadline of the part of a request the client owes now:
        its head (h11 waits for a request) or its body."""
        if self.lingering or self.upgraded or self.transport.is_closing():
            self._stop_timer()
            return
        state = self.conn.their_state
        phase = Phase.HEADERS if state is h11.IDLE else Phase.BODY if state is h11.SEND_BODY else None
        if phase is self.phase:
            return
        self._stop_timer()
        self.phase = phase
        if phase is not None:
            seconds = self.limits.header_timeout_seconds if phase is Phase.HEADERS else self.limits.body_timeout_seconds
            self.idle_deadline = self.loop.time() + self.limits.keep_alive_seconds
            self.deadline = self.loop.time() + seconds
            self.timer = self.loop.call_at(self.deadline, self._on_deadline)

    def _on_deadline(self) -> None:
        self.timer = None
        if self.loop.time() < self.deadline:  # the body's bytes moved it on
            self.timer = self.loop.call_at(self.deadline, self._on_deadline)
        elif self.phase is Phase.HEADERS:
            self._headers_late()
        elif self.phase is Phase.BODY:
            self._body_late()

    def _headers_late(self) -> None:
        started, _ = self.conn.trailing_data
        if not started:
            # Nothing of a request yet: an idle connection, kept until its
            # keep-alive time is up (looked at again each header period, so
            # a request begun meanwhile still gets its header deadline),
            # then closed quietly as uvicorn's keep-alive timeout does.
            now = self.loop.time()
            if now < self.idle_deadline:
                self.deadline = min(self.idle_deadline, now + self.limits.header_timeout_seconds)
                self.timer = self.loop.call_at(self.deadline, self._on_deadline)
                return
            self.transport.close()
            return
        seconds = self.limits.header_timeout_seconds
        log.warning("closed connection from %s: request headers incomplete after %g s (header_timeout_seconds)", self.address, seconds)
        self._finish(408, f"request headers not received within {seconds:g} s")

    def _body_late(self) -> None:
        seconds = self.limits.body_timeout_seconds
        log.warning("closed connection from %s: request body incomplete after %g s (body_timeout_seconds)", self.address, seconds)
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # it has its answer (a 413) and sends on regardless
            return
        self._finish(408, f"request body not received within {seconds:g} s")

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    # The last word

    def _finish(self, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self._stop_timer()
        self._unset_keepalive_if_required()
        self.phase = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if cycle.response_started:  # an answer half written cannot be followed by another
                self.transport.close()
                return
            # The application stops waiting for the body and writes nothing.
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.write(final_answer(status, text, headers))
        self._linger()

    def _linger(self) -> None:
        self.lingering = True
        if not self.gate.start_lingering():
            self.transport.close()
            return
        self.counted_lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the client sees the end of the answer
        self.flow.resume_reading()
        self.timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)


def http_protocol(limits: ConnectionLimits, gate: ConnectionGate | None = None) -> Callable[..., asyncio.Protocol]:
    """The protocol factory for uvicorn's `http` setting. Call it once per
    process and give the result to every listener: they share one gate
    (`gate`, when the application reads it too; a new one otherwise)."""
    return functools.partial(GuardedH11Protocol, limits=limits, gate=gate or ConnectionGate.from_limits(limits))


def uvicorn_http_options(limits: ConnectionLimits, gate: ConnectionGate | None = None) -> dict[str, Any]:
    """uvicorn settings for every listener of one process."""
    return {
        "http": http_protocol(limits, gate),
        "h11_max_incomplete_event_size": limits.max_header_bytes,
        "timeout_keep_alive": limits.keep_alive_seconds,
        # Websockets (the web console's consoles) on wsproto, keeping the
        # gate's count (GatedWSProtocol); uvicorn's pings find dead peers.
        "ws": GatedWSProtocol,
        "ws_max_size": WEBSOCKET_MAX_MESSAGE_BYTES,
        "ws_per_message_deflate": False,
        # No proxy stands in front: the address a request came from is the
        # peer's, never what a client writes in X-Forwarded-For, which
        # would otherwise give it a fresh allowance of failed logins per
        # address it names (uvicorn trusts it from 127.0.0.1 by default).
        "proxy_headers": False,
    }
