"""The web console as an ASGI application mounted at /ui/.

Every request passes the session checks of `access` first; a change (any
POST but the login itself) also needs the session's CSRF token, the
console's own origin and the admin role. Page handlers are plain functions
run on the console's own small pool, since the CIM operations they make
block; the event stream is the one long-lived exchange, fed by the bus."""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote

from cimprovider.http.authenticator import Refusal
from cimprovider.web.access import WebAccess, client_address, headers_of
from cimprovider.web.console import Console
from cimprovider.web.exchange import FormTooLarge, Request, Response, parse_form, read_body, redirect, send_response, text
from cimprovider.web.login import login_routes
from cimprovider.web.static import serve_static

log = logging.getLogger("cimprovider.web")

PREFIX = "/ui"
Handler = Callable[..., Response]
# A websocket handler receives the exchange once its session is checked.
WebSocketHandler = Callable[[dict[str, Any], Any, Any, Any], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def refusal(refused: Refusal, htmx: bool) -> Response:
    """A refused change: for htmx a fragment it puts in the page as an
    alert, else plain text."""
    if not htmx:
        return text(refused.status, refused.message)
    return Response(refused.status, f'<p class="error" role="alert">{html.escape(refused.message)}</p>')


class WebApplication:
    def __init__(self, access: WebAccess, console: Console, workers: int = 4) -> None:
        self.access = access
        self.console = console
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="web")
        self.routes: list[Route] = []
        self.websockets: dict[str, WebSocketHandler] = {}
        self.streams: dict[str, Callable[..., Awaitable[None]]] = {}

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append(Route(method, re.compile(f"^{pattern}$"), handler))

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"][len(PREFIX):] or "/"
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send, path)
            return
        method = scope["method"]
        if path.startswith("/static/") and method in ("GET", "HEAD"):
            await send_response(send, serve_static(path[len("/static/"):]), method == "HEAD")
            return
        if path in ("/login", "/logout"):
            await login_routes(self, scope, receive, send, path)
            return
        session = self.access.session(scope)
        if isinstance(session, Refusal):
            await send_response(send, self._refused(scope, session, path))
            return
        if method == "GET" and path in self.streams:
            await self.streams[path](scope, receive, send, session)
            return
        response = await self._handle(scope, receive, session, method, path)
        if response is not None:
            await send_response(send, response, method == "HEAD")

    def _refused(self, scope: dict[str, Any], refusal: Refusal, path: str) -> Response:
        if refusal.status == 401 and scope["method"] == "GET" and path not in self.streams:
            target = PREFIX + path + (("?" + scope["query_string"].decode()) if scope.get("query_string") else "")
            return redirect(f"{PREFIX}/login?next={quote(target, safe='')}")
        return text(refusal.status, refusal.message)

    async def _handle(self, scope: dict[str, Any], receive: Any, session: Any, method: str, path: str) -> Response | None:
        if method == "HEAD":
            method = "GET"
        matched = [(r, m) for r in self.routes if (m := r.pattern.match(path))]
        if not matched:
            return text(404, f"no page {PREFIX}{path}")
        found = next(((r, m) for r, m in matched if r.method == method), None)
        if found is None:
            return Response(405, "method not allowed\n", "text/plain; charset=utf-8",
                            [(b"allow", ", ".join(sorted({r.method for r, _ in matched})).encode())])
        route, match = found
        form: dict[str, list[str]] = {}
        if method == "POST":
            try:
                body = await read_body(receive)
            except FormTooLarge:
                return text(413, "form too large")
            if body is None:
                return None
            form = parse_form(body)
            token = (form.get("csrf_token") or [None])[0] or headers_of(scope).get("x-csrf-token")
            refused = self.access.change_allowed(scope, session, token)
            if refused is not None:
                log.info("web console change refused for %s: %s", session.user, refused.message)
                return refusal(refused, headers_of(scope).get("hx-request") == "true")
        headers = headers_of(scope)
        request = Request(method, path, parse_qs(scope.get("query_string", b"").decode()), form, session,
                          client_address(scope), headers.get("hx-request") == "true")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, self._run, route.handler, request, match.groupdict())

    def _run(self, handler: Handler, request: Request, groups: dict[str, str]) -> Response:
        try:
            return handler(self.console, request, **groups)
        except Exception:  # noqa: BLE001 - one broken page must not take the console down
            log.exception("web console page %s failed", request.path)
            return text(500, "the page failed; the server's log says why")

    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any, path: str) -> None:
        handler = next((h for prefix, h in self.websockets.items() if path.startswith(prefix)), None)
        session = self.access.websocket_session(scope)
        if handler is None or isinstance(session, Refusal):
            await receive()  # the websocket.connect message
            await send({"type": "websocket.close", "code": 4403 if handler is not None else 4404})
            return
        await handler(scope, receive, send, session)
