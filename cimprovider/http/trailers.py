"""HTTP/1.1 response trailers for uvicorn, which offers the ASGI
`http.response.trailers` extension only on HTTP/2.

DSP0200 lets a client that sent `TE: trailers` receive a chunked response
whose final CIMStatusCode trailer tells whether the operation really
succeeded. This protocol class adds the extension to uvicorn's httptools
protocol: after the last body chunk it writes the trailer fields itself.
It depends on uvicorn's RequestResponseCycle internals (the project pins a
uvicorn range, and tests/integration/test_trailers.py exercises it)."""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

TRAILERS = "http.response.trailers"


class _TrailerCycle(RequestResponseCycle):
    _trailers_expected = False

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if kind == "http.response.start" and message.get("trailers"):
            self._trailers_expected = True
            headers = [(n, v) for n, v in message.get("headers", []) if n.lower() != b"content-length"]
            message = {**message, "headers": headers + [(b"transfer-encoding", b"chunked")]}
        elif kind == "http.response.body" and self._trailers_expected and not message.get("more_body"):
            # Hold the terminating chunk back until the trailers arrive.
            message = {**message, "more_body": True}
        elif kind == TRAILERS and self._trailers_expected:
            self._write_trailers(message)
            return
        await super().send(message)

    def _write_trailers(self, message: Any) -> None:
        if self.disconnected or self.response_complete:
            return
        fields = b"".join(name + b": " + value + b"\r\n" for name, value in message.get("headers", []))
        self.transport.write(b"0\r\n" + fields + b"\r\n")
        if message.get("more_trailers"):
            return
        self.response_complete = True
        self.message_event.set()
        if not self.keep_alive:
            self.transport.close()
        self.on_response()


class TrailerHttpToolsProtocol(HttpToolsProtocol):
    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and type(cycle) is RequestResponseCycle:
            cycle.__class__ = _TrailerCycle
            extensions = dict(cycle.scope.get("extensions") or {})
            extensions[TRAILERS] = {}
            cycle.scope["extensions"] = extensions
