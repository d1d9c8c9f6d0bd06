"""uvicorn's h11 protocol with HTTP/1.1 response trailers.

Two DSP0200 needs decide the HTTP implementation: M-POST, a method name
that httptools' parser rejects outright (h11 takes any token), and
trailers: a client that sent `TE: trailers` may receive a chunked response
whose final CIMStatusCode trailer tells whether the operation succeeded.
uvicorn offers the ASGI `http.response.trailers` extension only on HTTP/2;
this protocol class adds it to its h11 protocol, ending the chunked body
with h11's EndOfMessage(headers=…). It reaches into uvicorn's
RequestResponseCycle, so the project pins a uvicorn range and
tests/integration/test_bad_input.py exercises trailers over a socket."""

from __future__ import annotations

from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

from cimprovider.http.gather import PIECES, BodyLength, GatherWriter, can_gather
from cimprovider.wire import Reply

TRAILERS = "http.response.trailers"


class _KeptWrites:
    """Stands for the transport while uvicorn frames a response head: keeps
    what it writes, and answers every other question as the transport."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class _TrailerCycle(RequestResponseCycle):
    _trailers_expected = False
    gather: GatherWriter | None = None

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if kind == "http.response.start" and message.get("trailers"):
            self._trailers_expected = True
            # Without a Content-Length, h11 frames an HTTP/1.1 body in chunks.
            headers = [(n, v) for n, v in message.get("headers", []) if n.lower() != b"content-length"]
            message = {**message, "headers": headers}
        elif kind == "http.response.body" and self._trailers_expected and not message.get("more_body"):
            message = {**message, "more_body": True}  # the trailers end the message
        elif kind == TRAILERS and self._trailers_expected:
            self._end_with_trailers(message)
            return
        elif kind == PIECES:
            await self._send_reply(message["start"], message["reply"])
            return
        await super().send(message)

    async def _send_reply(self, start: Any, reply: Reply | bytes) -> None:
        """A whole response: a small body in the same write as its head; a
        Reply gathered from its pieces (gather.py) where the transport
        allows, its head leaving in the first write, else in chunks."""
        if isinstance(reply, bytes):
            await self._send_whole(start, reply)
            return
        if not can_gather(self.transport):
            await super().send(start)
            if self.disconnected or self.response_complete:
                return
            for chunk in reply.chunks():
                await super().send({"type": "http.response.body", "body": chunk, "more_body": True})
        else:
            head = await self._head(start)
            if self.disconnected or self.response_complete:
                return
            self.conn.send_with_data_passthrough(h11.Data(data=BodyLength(len(reply))))  # type: ignore[arg-type]
            self.gather = GatherWriter(self.transport)
            written = await self.gather.write(reply.pieces, reply.measured, head)
            self.gather = None
            if not written:
                self.transport.close()
                return
        await super().send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _send_whole(self, start: Any, body: bytes) -> None:
        head = await self._head(start)
        if self.disconnected or self.response_complete:
            return
        self.transport.write(head + self.conn.send(h11.Data(data=body)))  # type: ignore[operator]
        await super().send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _head(self, start: Any) -> bytes:
        """The response head as uvicorn frames it (its default headers, its
        keep-alive decision), kept instead of written to the transport."""
        transport = self.transport
        kept = _KeptWrites(transport)
        self.transport = kept  # type: ignore[assignment]
        try:
            await super().send(start)
        finally:
            self.transport = transport
        return b"".join(kept.writes)

    def _end_with_trailers(self, message: Any) -> None:
        if self.disconnected or self.response_complete:
            return
        self.response_complete = True
        self.message_event.set()
        self.transport.write(self.conn.send(event=h11.EndOfMessage(headers=message.get("headers", []))))
        if self.conn.our_state is h11.MUST_CLOSE or not self.keep_alive:
            self.conn.send(event=h11.ConnectionClosed())
            self.transport.close()
        self.on_response()


class TrailerH11Protocol(H11Protocol):
    def connection_lost(self, exc: Exception | None) -> None:
        cycle = self.cycle
        super().connection_lost(exc)
        if isinstance(cycle, _TrailerCycle) and cycle.gather is not None:
            cycle.gather.stop()

    def handle_events(self) -> None:
        previous = self.cycle
        super().handle_events()
        cycle = self.cycle
        if cycle is not None and cycle is not previous and type(cycle) is RequestResponseCycle:
            cycle.__class__ = _TrailerCycle
            if cycle.scope.get("http_version") == "1.1":  # HTTP/1.0 has no chunks to trail
                extensions = dict(cycle.scope.get("extensions") or {})
                extensions[TRAILERS] = {}
                cycle.scope["extensions"] = extensions
            extensions = dict(cycle.scope.get("extensions") or {})
            extensions[PIECES] = {}
            cycle.scope["extensions"] = extensions

