"""Signing in and out of the console. The login form posts the user's
name and password once; the server checks them exactly as HTTP Basic on
the CIM port (same users file, scrypt, cache and failure throttle) and
answers with a session cookie. With authentication off, a loopback
visitor is signed in as the local administrator at the press of a button."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from cimprovider.http.authenticator import Refusal
from cimprovider.web.access import client_address, cookie_from, cookie_header, headers_of, same_origin
from cimprovider.web.exchange import FormTooLarge, Response, parse_form, read_body, redirect, send_response, text

if TYPE_CHECKING:
    from cimprovider.web.app import WebApplication

log = logging.getLogger("cimprovider.web")


def _next_page(value: str | None) -> str:
    """Only a page of the console: never an open redirect."""
    if value and value.startswith("/ui/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/vms"


def login_page(app: "WebApplication", next_page: str, message: str = "", status: int = 200,
               retry_after: int | None = None) -> Response:
    page = app.console.env.get_template("login.html").render(
        next_page=next_page, message=message, authentication=app.access.authentication_on,
        host_name=app.console.host_name)
    headers = [(b"retry-after", str(retry_after).encode())] if retry_after else []
    return Response(status, page, headers=headers)


async def login_routes(app: "WebApplication", scope: dict[str, Any], receive: Any, send: Any, path: str) -> None:
    headers = headers_of(scope)
    refused = app.access.reachable(scope, headers)
    if refused is not None:
        await send_response(send, text(refused.status, refused.message))
        return
    query = parse_qs(scope.get("query_string", b"").decode())
    method = scope["method"]
    if path == "/logout":
        if method != "POST":  # signing out is a change: never over GET, whatever a link or image asks
            await send_response(send, Response(405, "method not allowed\n", "text/plain; charset=utf-8",
                                               [(b"allow", b"POST")]))
            return
        session = app.access.sessions.find(cookie_from(headers))
        if session is not None:
            body = await read_body(receive)
            token = (parse_form(body or b"").get("csrf_token") or [None])[0]
            if not session.csrf_matches(token):
                await send_response(send, text(403, "the form's security token is missing or stale"))
                return
            app.access.sessions.close(cookie_from(headers))
        response = redirect("/ui/login")
        response.headers.append((b"set-cookie", cookie_header("", scope.get("scheme") == "https", max_age=0)))
        await send_response(send, response)
        return
    if method in ("GET", "HEAD"):
        await send_response(send, login_page(app, _next_page((query.get("next") or [None])[0])), method == "HEAD")
        return
    if method != "POST":
        await send_response(send, text(405, "method not allowed"))
        return
    await send_response(send, await _sign_in(app, scope, receive, headers))


async def _sign_in(app: "WebApplication", scope: dict[str, Any], receive: Any, headers: dict[str, str]) -> Response:
    # A login posted from another site would sign the victim in as the
    # attacker (login CSRF): browsers send Origin on POST, and it must be ours.
    if not same_origin(scope, headers, required=False):
        return text(403, "request from another origin refused")
    try:
        body = await read_body(receive)
    except FormTooLarge:
        return text(413, "form too large")
    form = parse_form(body or b"")
    next_page = _next_page((form.get("next") or [None])[0])
    if app.access.authentication_on:
        name = (form.get("user") or [""])[0]
        outcome = await app.access.sign_in(name, (form.get("password") or [""])[0], client_address(scope))
        if isinstance(outcome, Refusal):
            return login_page(app, next_page, outcome.message, outcome.status, outcome.retry_after)
        cookie, session = app.access.sessions.open(outcome)
        log.info("web console: %s (%s) signed in from %s", outcome.name, outcome.role, client_address(scope))
    else:
        cookie, session = app.access.sessions.open(None)
    response = redirect(next_page)
    response.headers.append((b"set-cookie", cookie_header(cookie, scope.get("scheme") == "https")))
    return response
