"""Server-sent events: the VM list and a VM's page follow the server's
event bus. Nothing polls the model: a bus event names the VM it touched,
and only that VM's row is read again (as the signed-in user, through the
CIMOM) and sent to the browser as HTML to put in place.

Events: `vm` (a row's HTML), `gone` (the GUID of a VM that went), `jobs`
(the HTML of a VM's job list), `metrics` (a VM's charts, on its own page's
stream only), and comments to keep the stream open."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from cimprovider.schemas.events import EventBase, JobChanged, VmDestroyed
from cimprovider.web.access import client_address, cookie_from, headers_of
from cimprovider.web.exchange import SECURITY_HEADERS, Request
from cimprovider.web.pages.vms import job_list_html, metrics_html, row_html
from cimprovider.web.sessions import Session

if TYPE_CHECKING:
    from cimprovider.web.app import WebApplication

log = logging.getLogger("cimprovider.web")

KEEPALIVE_SECONDS = 15.0
# A stream ends after this long; the browser reconnects at once. This bounds
# how long a stream can hold a stopping server.
STREAM_SECONDS = 600.0
MAX_WAITING = 1024


def affected(event: EventBase) -> tuple[str, str] | None:
    """("vm" | "gone" | "jobs", VM GUID in upper case) for an event about a VM."""
    if isinstance(event, JobChanged):
        ids = event.job.affected_element_ids
        return ("jobs", str(ids[0]).upper()) if ids else None
    if isinstance(event, VmDestroyed):
        return ("gone", str(event.vm.id).upper())
    vm_id = getattr(event, "vm_id", None)
    if vm_id is None and getattr(event, "vm", None) is not None:
        vm_id = event.vm.id  # type: ignore[attr-defined]
    return ("vm", str(vm_id).upper()) if vm_id is not None else None


def sse(event: str, data: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n".encode()


async def event_stream(app: "WebApplication", scope: dict[str, Any], receive: Any, send: Any, session: Session) -> None:
    console = app.console
    watched = (parse_qs(scope.get("query_string", b"").decode()).get("vm") or [None])[0]
    watched = watched.upper() if watched else None
    loop = asyncio.get_running_loop()
    waiting: asyncio.Queue[tuple[str, str]] = asyncio.Queue(MAX_WAITING)

    def on_event(event: EventBase) -> None:
        found = affected(event)
        if found is not None and (watched is None or found[1] == watched):
            loop.call_soon_threadsafe(_offer, waiting, found)

    if console.bus is None:
        await _answer_plain(send, 503, b"no event bus\n")
        return
    scope["cimprovider.stream"] = True  # http.protocol.STREAM_KEY: a stopping server ends it
    subscription = console.bus.subscribe(on_event)
    cookie = cookie_from(headers_of(scope))
    request = Request("GET", "/events", {"vm": [watched]} if watched else {}, {}, session, client_address(scope), False)
    try:
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/event-stream; charset=utf-8"), *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": b"retry: 1000\n: live\n\n", "more_body": True})
        await _pump(app, receive, send, waiting, request, cookie, loop)
    finally:
        subscription.close()


def _offer(waiting: asyncio.Queue[tuple[str, str]], item: tuple[str, str]) -> None:
    try:
        waiting.put_nowait(item)
    except asyncio.QueueFull:
        pass  # the browser is far behind; it catches up with the next event


async def _pump(app: "WebApplication", receive: Any, send: Any, waiting: asyncio.Queue[tuple[str, str]],
                request: Request, cookie: str | None, loop: asyncio.AbstractEventLoop) -> None:
    gone = asyncio.ensure_future(_disconnected(receive))
    deadline = loop.time() + STREAM_SECONDS
    try:
        while not gone.done() and loop.time() < deadline:
            getter = asyncio.ensure_future(waiting.get())
            done, _ = await asyncio.wait({getter, gone}, timeout=KEEPALIVE_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            # A signed-out or expired session stops receiving at once; the
            # stream itself does not keep a session alive.
            if app.access.sessions.find(cookie, touch=False) is not request.session:
                getter.cancel()
                break
            if getter not in done:
                getter.cancel()
                if not gone.done():
                    await send({"type": "http.response.body", "body": b": keepalive\n\n", "more_body": True})
                continue
            items = {getter.result()}
            while not waiting.empty():
                items.add(waiting.get_nowait())
            for kind, guid in sorted(items):
                body = await loop.run_in_executor(app.pool, _render, app, request, kind, guid)
                await send({"type": "http.response.body", "body": body, "more_body": True})
        if not gone.done():
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        gone.cancel()


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _render(app: "WebApplication", request: Request, kind: str, guid: str) -> bytes:
    try:
        if kind == "gone":
            return sse("gone", guid)
        if kind == "jobs":
            return sse("jobs", job_list_html(app.console, request, guid))
        html = row_html(app.console, request, guid)
        if not html:
            return sse("gone", guid)
        # A VM's own page also draws its charts again: a change of state
        # moves its figures, and the page already follows this stream.
        charts = sse("metrics", metrics_html(app.console, request, guid)) if request.arg("vm") else b""
        return sse("vm", html) + charts
    except Exception:  # noqa: BLE001 - a failed read must not end the stream
        log.exception("web console: could not render %s of %s", kind, guid)
        return b": render failed\n\n"


async def _answer_plain(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})
