"""The console websockets: /ui/console/vm/<id>/<kind>/socket?ticket=…

A handshake is refused (HTTP 403) unless it comes from the console's own
origin with a live session cookie and a ticket issued to that session for
that VM's console (tickets.py). Then the VM's console is opened on the
backend and bytes flow both ways in binary frames, untouched, except that
what a reader (view-only role) sends is held back: keystrokes on the
serial console, keys, pointer and clipboard on the screen (rfb_viewer.py).
A console the VM does not have, or a VM that is not running, is told to the
page in the close reason (codes 4404, 4409)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from cimprovider.backends.console import ConsoleBackend, ConsoleKind, ConsoleStream
from cimprovider.backends.errors import BackendError, InvalidStateError, NotFoundError
from cimprovider.http.authenticator import Refusal
from cimprovider.web.vm_console.rfb_viewer import RfbRefused, ViewerStream
from cimprovider.web.vm_console.tickets import ConsoleTickets

log = logging.getLogger("cimprovider.web.console")

# Output waiting for a browser that does not read: past this, it is cut off
# rather than growing the server's memory.
MAX_PENDING_BYTES = 8 * 1024 * 1024
CLOSE_POLICY = 1008
CLOSE_NOT_FOUND = 4404
CLOSE_NOT_RUNNING = 4409
CLOSE_ENDED = 4000
CLOSE_FAILED = 1011
CLOSE_SESSION = 4401
# How often an open console looks at its session again: signing out, the
# user's removal or a new password, or a change of role end it this soon.
SESSION_CHECK_SECONDS = 5.0


class Viewer(Protocol):
    """A signed-in browser session, as the console needs it."""

    key: bytes
    user: str | None
    role: str

    def may_write(self) -> bool: ...


class ConsoleAccess(Protocol):
    """Sessions and checks (the web console's WebAccess)."""

    def session(self, scope: dict[str, Any]) -> Viewer | Refusal: ...

    def websocket_session(self, scope: dict[str, Any]) -> Viewer | Refusal: ...


@dataclass(frozen=True, slots=True)
class ConsoleAddress:
    vm_id: UUID
    kind: ConsoleKind


def parse_console_path(path: str, prefix: str, leaf: str) -> ConsoleAddress | None:
    """`<prefix>vm/<uuid>/<kind>/<leaf>` → the console it names."""
    parts = path[len(prefix):].split("/") if path.startswith(prefix) else []
    if len(parts) != 4 or parts[0] != "vm" or parts[3] != leaf:
        return None
    try:
        return ConsoleAddress(UUID(parts[1]), ConsoleKind(parts[2]))
    except ValueError:
        return None


class _Ended:
    def __init__(self, reason: str) -> None:
        self.reason = reason


class ConsoleSockets:
    def __init__(self, access: ConsoleAccess, tickets: ConsoleTickets, backend: object, pool: Executor) -> None:
        self.access = access
        self.tickets = tickets
        self.backend = backend
        self.pool = pool

    async def __call__(self, scope: dict[str, Any], receive, send, address: ConsoleAddress) -> None:
        viewer = self.access.websocket_session(scope)
        if isinstance(viewer, Refusal):
            log.warning("console websocket refused for %s: %s", _client(scope), viewer.message)
            await send({"type": "websocket.close", "code": CLOSE_POLICY})
            return
        ticket = _query(scope).get("ticket", "")
        if not self.tickets.redeem(ticket, viewer.key, address.vm_id, address.kind.value):
            log.warning("console websocket refused for %s (%s): no valid ticket", _client(scope), viewer.user)
            await send({"type": "websocket.close", "code": CLOSE_POLICY})
            return
        if (await receive())["type"] != "websocket.connect":
            return
        subprotocols = scope.get("subprotocols") or []
        accept: dict[str, Any] = {"type": "websocket.accept"}
        if "binary" in subprotocols:  # noVNC asks for it
            accept["subprotocol"] = "binary"
        await send(accept)
        try:
            stream = await self._open(address)
        except (NotFoundError, InvalidStateError, BackendError) as error:
            code = CLOSE_NOT_FOUND if isinstance(error, NotFoundError) else CLOSE_NOT_RUNNING if isinstance(error, InvalidStateError) else CLOSE_FAILED
            await send({"type": "websocket.close", "code": code, "reason": _reason(str(error))})
            return
        log.info("console %s of VM %s opened by %s (%s)", address.kind.value, address.vm_id, viewer.user, viewer.role)
        session_check = lambda: self._still_allowed(scope, viewer)  # noqa: E731
        await self._relay(stream, address, not viewer.may_write(), receive, send, session_check)

    def _still_allowed(self, scope: dict[str, Any], viewer: Viewer) -> str | None:
        """None while the socket's session lives with the same rights; else why not."""
        now = self.access.websocket_session(scope)
        if isinstance(now, Refusal) or now.key != viewer.key:
            return "the session ended; sign in again"
        if now.may_write() != viewer.may_write():
            return "your role changed; connect again"
        return None

    async def _open(self, address: ConsoleAddress) -> ConsoleStream:
        backend = self.backend
        if not isinstance(backend, ConsoleBackend):
            raise NotFoundError("this host's backend offers no consoles")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, backend.open_console, address.vm_id, address.kind)

    async def _relay(self, stream: ConsoleStream, address: ConsoleAddress, view_only: bool, receive, send,
                     session_check: Callable[[], str | None]) -> None:
        loop = asyncio.get_running_loop()
        outbox: asyncio.Queue[bytes | _Ended] = asyncio.Queue()
        pending = [0]

        def output(data: bytes) -> None:
            pending[0] += len(data)
            outbox.put_nowait(data)

        stream.start(
            lambda data: loop.call_soon_threadsafe(output, data),
            lambda reason: loop.call_soon_threadsafe(outbox.put_nowait, _Ended(reason)),
        )
        inbound = _inbound(address.kind, view_only)
        reader = asyncio.ensure_future(self._from_browser(stream, inbound, receive))
        getter: asyncio.Future | None = None
        checked = loop.time()
        try:
            while True:
                getter = getter or asyncio.ensure_future(outbox.get())
                done, _ = await asyncio.wait({getter, reader}, timeout=SESSION_CHECK_SECONDS, return_when=asyncio.FIRST_COMPLETED)
                if loop.time() - checked >= SESSION_CHECK_SECONDS:
                    checked = loop.time()
                    ended = session_check()
                    if ended is not None:
                        await send({"type": "websocket.close", "code": CLOSE_SESSION, "reason": ended})
                        return
                if not done:
                    continue
                if reader in done:
                    getter.cancel()
                    refused = reader.result()
                    if refused is not None:
                        await send({"type": "websocket.close", "code": CLOSE_POLICY, "reason": _reason(refused)})
                    return
                if getter not in done:
                    continue
                item, getter = getter.result(), None
                if isinstance(item, _Ended):
                    await send({"type": "websocket.close", "code": CLOSE_ENDED, "reason": _reason(item.reason)})
                    return
                pending[0] -= len(item)
                if pending[0] > MAX_PENDING_BYTES:
                    await send({"type": "websocket.close", "code": CLOSE_FAILED, "reason": "the browser reads too slowly"})
                    return
                await send({"type": "websocket.send", "bytes": item})
        finally:
            reader.cancel()
            if getter is not None:
                getter.cancel()
            stream.close()

    @staticmethod
    async def _from_browser(stream: ConsoleStream, inbound: Callable[[bytes], bytes], receive) -> str | None:
        """Until the browser leaves (None) or sends what it may not (why)."""
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return None
            data = message.get("bytes")
            if data is None:
                data = (message.get("text") or "").encode()
            try:
                forwarded = inbound(data)
            except RfbRefused as refused:
                return str(refused)
            if forwarded:
                stream.send(forwarded)


def _inbound(kind: ConsoleKind, view_only: bool) -> Callable[[bytes], bytes]:
    """What of the browser's bytes reaches the VM."""
    if kind is ConsoleKind.GRAPHICS:
        return ViewerStream(view_only).feed
    if view_only:
        return lambda data: b""  # a reader watches the serial console; its keys go nowhere
    return lambda data: data


def _query(scope: dict[str, Any]) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))


def _reason(text: str) -> str:
    # A close frame's reason holds 123 bytes of UTF-8.
    encoded = text.encode()[:123]
    return encoded.decode(errors="ignore")


def _client(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return client[0] if client else "?"


Handler = Callable[[dict[str, Any], Any, Any, ConsoleAddress], Awaitable[None]]
