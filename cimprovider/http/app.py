"""The HTTP(S) front end: an ASGI application that accepts CIM-XML
operations on POST (and M-POST) /cimom, authenticates, and runs each
operation on a bounded worker pool, since providers and backends are plain
blocking code."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from pywbem import CIMError

from cimprovider.cimom import ANONYMOUS_ADMIN, CIMOM, Principal, is_expected, operation_failure
from cimprovider.http.authenticator import Authenticator, Refusal
from cimprovider.http.gather import PIECES
from cimprovider.http.limits import ConnectionGate
from cimprovider.http.headers import (
    check_cim_headers,
    check_content_type,
    cim_headers,
    header_map,
    reads_embedded_arrays,
    wants_trailers,
)
from cimprovider.wire import KeptXml, Reply, parse_request, write_error, write_intrinsic_reply, write_method_response
from cimprovider.wire.dialects import without_array_embedding
from cimprovider.wire.messages import CallError, IntrinsicCall, ProtocolError, Request

log = logging.getLogger("cimprovider.http")

CIM_PATHS = frozenset({"/cimom", "/"})
# A route beside CIM operations, by path prefix: it authorises requests
# itself and answers (status, plain-text body).
Route = Callable[[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]]], Awaitable[tuple[int, bytes]]]
# An ASGI application mounted at a path prefix (the web console): it gets
# the whole HTTP or websocket exchange and answers it itself.
Mount = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
METRICS_PATH = "/metrics"
DEFAULT_MAX_BODY = 16 * 1024 * 1024
TRAILER_CHUNK = 64 * 1024
GATHER_FROM = 64 * 1024  # replies from this size on are gathered from their pieces (gather.py)


@dataclass(slots=True)
class Answer:
    """An HTTP response, and the CIM status it carries (for trailers).
    A large reply stays in pieces (a Reply) and is sent in chunks."""

    status: int
    body: bytes | Reply = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    cim_status: int = 0
    cim_description: str = ""
    cim: bool = True  # a CIM-XML answer (False for /metrics)

    def chunks(self) -> Iterator[bytes]:
        if isinstance(self.body, Reply):
            yield from self.body.chunks()
        elif self.body:
            yield self.body


class Monitoring(Protocol):
    """What the front end needs of the metrics part: the exposition for
    GET /metrics, and a record of each operation it ran."""

    def render(self, accept: str | None) -> tuple[bytes, str]: ...

    def observe(self, operation: str, status: str, seconds: float) -> None: ...


def protocol_fault(error: ProtocolError) -> Answer:
    return Answer(
        error.status,
        error.message.encode() + b"\n",
        [(b"cimerror", error.cim_error.encode()), (b"content-type", b"text/plain; charset=utf-8")],
    )


def refusal_answer(refusal: Refusal) -> Answer:
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    if refusal.status == 401:
        headers.append((b"www-authenticate", b'Basic realm="cimprovider"'))
    if refusal.retry_after is not None:
        headers.append((b"retry-after", str(refusal.retry_after).encode()))
    return Answer(refusal.status, refusal.message.encode() + b"\n", headers)


class CIMApplication:
    def __init__(
        self,
        cimom: CIMOM,
        authenticator: Authenticator,
        *,
        workers: int = 8,
        max_body: int = DEFAULT_MAX_BODY,
        on_shutdown: list[Callable[[], None]] | None = None,
        routes: dict[str, Route] | None = None,
        monitoring: Monitoring | None = None,
        connection_gate: ConnectionGate | None = None,
        mounts: dict[str, Mount] | None = None,
        kept: KeptXml | None = None,
    ) -> None:
        self.cimom = cimom
        self.kept = kept
        self.routes = routes or {}
        self.authenticator = authenticator
        self.max_body = max_body
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cim-op")
        self.on_shutdown = on_shutdown or []
        self.monitoring = monitoring
        # Shared with the listeners' protocol (uvicorn_http_options), which
        # counts connections in and out.
        self.connection_gate = connection_gate
        self.mounts = mounts if mounts is not None else {}

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        mounted = self._mounted(scope)
        if mounted is not None:
            await mounted(scope, receive, send)
        elif scope["type"] == "http":
            answer = await self._answer(scope, receive)
            if answer is not None:
                await self._send(scope, send, answer)
        elif scope["type"] == "websocket":
            # No websocket lives here: refuse the handshake (HTTP 403).
            await send({"type": "websocket.close", "code": 1008})

    def _mounted(self, scope: dict[str, Any]) -> Mount | None:
        path = scope.get("path", "")
        # The longest prefix wins, so /ui/ws/ may be mounted beside /ui/.
        for prefix, app in sorted(self.mounts.items(), key=lambda item: -len(item[0])):
            if path == prefix.rstrip("/") or path.startswith(prefix):
                return app
        return None

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                # In-flight operations have finished (uvicorn waits for them);
                # now let the backend flush and close.
                self.pool.shutdown(wait=True)
                self.authenticator.close()
                for close in self.on_shutdown:
                    try:
                        close()
                    except Exception:  # noqa: BLE001 - shutdown must go on
                        log.exception("error while shutting down")
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _answer(self, scope: dict[str, Any], receive) -> Answer | None:
        headers = header_map(scope["headers"])
        method = scope["method"]
        for prefix, route in self.routes.items():
            if scope["path"].startswith(prefix):
                status, body = await route(scope, receive)
                return Answer(status, body, [(b"content-type", b"text/plain; charset=utf-8")])
        if scope["path"] == METRICS_PATH and self.monitoring is not None:
            return await self._metrics(method, headers, _client_address(scope))
        if scope["path"] not in CIM_PATHS:
            return Answer(404, b"CIM operations are served at /cimom\n")
        if method not in ("POST", "M-POST"):
            return Answer(501, b"only POST and M-POST are served\n", [(b"allow", b"POST, M-POST")])
        # Authenticate first: an anonymous client learns nothing else.
        principal = await self._principal(headers.get("authorization"), _client_address(scope))
        if isinstance(principal, Refusal):
            return refusal_answer(principal)
        try:
            if scope["http_version"] == "1.1" and "host" not in headers:
                raise ProtocolError(400, "request-not-valid", "HTTP/1.1 request without Host")
            cim = cim_headers(headers, method, scope["http_version"])
            check_cim_headers(cim)
            check_content_type(headers.get("content-type"))
        except ProtocolError as error:
            return protocol_fault(error)
        try:
            body = await self._read_body(headers, receive)
        except ProtocolError as error:
            return protocol_fault(error)
        if body is None:
            return None  # the client went away; nothing to answer
        loop = asyncio.get_running_loop()
        plain_arrays = not reads_embedded_arrays(headers)
        return await loop.run_in_executor(self.pool, self.operate_in_pieces, body, principal, plain_arrays)

    async def _metrics(self, method: str, headers: dict[str, str], address: str | None) -> Answer:
        """Any authenticated user may read the figures (reader role suffices)."""
        if method not in ("GET", "HEAD"):
            return Answer(405, b"/metrics answers GET\n", [(b"allow", b"GET, HEAD")], cim=False)
        principal = await self._principal(headers.get("authorization"), address)
        if isinstance(principal, Refusal):
            return refusal_answer(principal)
        assert self.monitoring is not None
        loop = asyncio.get_running_loop()
        body, content_type = await loop.run_in_executor(self.pool, self.monitoring.render, headers.get("accept"))
        return Answer(200, b"" if method == "HEAD" else body, [(b"content-type", content_type.encode())], cim=False)

    async def _principal(self, authorization: str | None, address: str | None) -> Principal | Refusal:
        if not self.authenticator.enabled:
            return Principal(None, ANONYMOUS_ADMIN.role, address)
        outcome = await self.authenticator.authenticate(authorization, address or "")
        return outcome if isinstance(outcome, Refusal) else Principal(outcome.name, outcome.role, address)

    async def _read_body(self, headers: dict[str, str], receive) -> bytes | None:
        declared = headers.get("content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                raise ProtocolError(400, "request-not-valid", "Content-Length is not a number") from None
            if length > self.max_body:
                raise ProtocolError(413, "request-too-large", f"request body over {self.max_body} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise ProtocolError(413, "request-too-large", f"request body over {self.max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def operate(self, body: bytes, principal: Principal) -> Answer:
        """Bytes in, bytes out: decode, run, encode. The answer's body is
        one bytes object (see operate_in_pieces for what HTTP sends)."""
        answer = self.operate_in_pieces(body, principal)
        if isinstance(answer.body, Reply):
            answer.body = bytes(answer.body)
        return answer

    def operate_in_pieces(self, body: bytes, principal: Principal, plain_arrays: bool = False) -> Answer:
        """Decode, run, encode; a large reply stays in pieces to be sent
        in chunks. Runs on a worker thread. `plain_arrays`: the client
        cannot read EmbeddedObject on an array property (wire/dialects.py)."""
        try:
            request = parse_request(body)
        except ProtocolError as error:
            return protocol_fault(error)
        except CallError as error:
            return self._cim_error(error.message_id, error.method, error.intrinsic, error.error)
        answer = self._run(request, principal)
        if plain_arrays:
            answer.body = without_array_embedding(answer.body)
        return answer

    def _run(self, request: Request, principal: Principal) -> Answer:
        started = time.perf_counter()
        answer = self._run_operation(request, principal)
        if self.monitoring is not None:
            status = CIMError(answer.cim_status).status_code_name if answer.cim_status else "OK"
            self.monitoring.observe(request.method, status, time.perf_counter() - started)
        return answer

    def _run_operation(self, request: Request, principal: Principal) -> Answer:
        intrinsic = isinstance(request, IntrinsicCall)
        try:
            if intrinsic:
                result = self.cimom.intrinsic(request, principal, kept_replies=self.kept is not None)
                body = write_intrinsic_reply(request, result, self.cimom.engine.host, self.kept)
            else:
                result = self.cimom.extrinsic(request, principal)
                body = write_method_response(request, result)
        except CIMError as error:
            return self._cim_error(request.message_id, request.method, intrinsic, error)
        except Exception as exc:  # noqa: BLE001 - a fault must not kill the connection
            error = operation_failure(request.method, exc)
            if is_expected(exc):
                log.error("operation %s failed: %s", request.method, error.status_description)
            else:
                log.exception("operation %s failed", request.method)
            return self._cim_error(request.message_id, request.method, intrinsic, error)
        return Answer(200, body)

    @staticmethod
    def _cim_error(message_id: str, method: str, intrinsic: bool, error: CIMError) -> Answer:
        body = write_error(message_id, method, intrinsic, error)
        return Answer(200, body, cim_status=error.status_code, cim_description=error.status_description)

    async def _send(self, scope: dict[str, Any], send, answer: Answer) -> None:
        headers = list(answer.headers)
        if answer.status == 200 and answer.cim:
            headers += [
                (b"content-type", b'application/xml; charset="utf-8"'),
                (b"cimoperation", b"MethodResponse"),
            ]
        trailers = answer.status == 200 and answer.cim and wants_trailers(header_map(scope["headers"])) and _can_trail(scope)
        if trailers:
            await self._send_with_trailers(send, answer, headers)
            return
        headers.append((b"content-length", str(len(answer.body)).encode()))
        start = {"type": "http.response.start", "status": answer.status, "headers": headers}
        if isinstance(answer.body, Reply) and len(answer.body) < GATHER_FROM:
            # A small reply (a GetInstance) is one bytes body: gathering
            # costs it a duplicate descriptor and a system call more than
            # the copy it saves.
            answer.body = bytes(answer.body)
        if PIECES in scope.get("extensions", {}):
            # Head and body leave together (one write, one wake-up of the client).
            await send({"type": PIECES, "start": start, "reply": answer.body})
            return
        await send(start)
        if isinstance(answer.body, bytes):
            await send({"type": "http.response.body", "body": answer.body})
            return
        for chunk in answer.body.chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    async def _send_with_trailers(send, answer: Answer, headers: list[tuple[bytes, bytes]]) -> None:
        headers.append((b"trailer", b"CIMStatusCode, CIMStatusCodeDescription"))
        await send({"type": "http.response.start", "status": 200, "headers": headers, "trailers": True})
        body = answer.body
        if isinstance(body, Reply):
            for chunk in body.chunks(TRAILER_CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        else:
            for start in range(0, len(body), TRAILER_CHUNK):
                await send({"type": "http.response.body", "body": body[start : start + TRAILER_CHUNK], "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        trailer = [(b"cimstatuscode", str(answer.cim_status).encode())]
        if answer.cim_status:
            trailer.append((b"cimstatuscodedescription", _header_text(answer.cim_description)))
        await send({"type": "http.response.trailers", "headers": trailer, "more_trailers": False})


def _client_address(scope: dict[str, Any]) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def _can_trail(scope: dict[str, Any]) -> bool:
    return "http.response.trailers" in scope.get("extensions", {})


def _header_text(text: str) -> bytes:
    from urllib.parse import quote

    return quote(text, safe=" :/,.-_()'").encode("ascii")
