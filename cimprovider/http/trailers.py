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

from cimprovider.http.gather import PIECES, BodyLength, GatherWriter, can_gather, cork
from cimprovider.wire import Reply

TRAILERS = "http.response.trailers"


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

    async def _send_reply(self, start: Any, reply: Reply) -> None:
        """A whole response whose body is a Reply: its head, then the body
        gathered from its pieces (gather.py) where the transport allows,
        else in chunks. The head is held back (corked) until the body's
        first bytes join it, so the client is woken once, not twice."""
        gathering = can_gather(self.transport)
        if gathering:
            cork(self.transport, True)
        await super().send(start)
        if self.disconnected or self.response_complete:
            return
        if not gathering:
            for chunk in reply.chunks():
                await super().send({"type": "http.response.body", "body": chunk, "more_body": True})
        else:
            self.conn.send_with_data_passthrough(h11.Data(data=BodyLength(len(reply))))  # type: ignore[arg-type]
            self.gather = GatherWriter(self.transport)
            written = await self.gather.write(reply.pieces, reply.measured)
            self.gather = None
            if not written:
                self.transport.close()
                return
        await super().send({"type": "http.response.body", "body": b"", "more_body": False})

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

