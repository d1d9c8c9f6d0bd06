"""Who may use the web console, decided from an ASGI scope.

- A page, a stream or a websocket needs a live session cookie.
- A change (POST) must also carry the session's CSRF token, come from the
  console's own origin, and be made by an admin: readers see, never change.
- A websocket must come from the console's own origin (browsers send the
  Origin header on every websocket handshake, and cookies go with it even
  from other sites, so the Origin is what stops a foreign page).
- With authentication off the console answers loopback only, and only to a
  loopback Host name, so a foreign site cannot rebind its name to 127.0.0.1
  and read pages as a same-origin visitor.

`WebAccess.websocket_session(scope)` is the one call a websocket handler
makes before it accepts."""

from __future__ import annotations

import base64
import ipaddress
from http.cookies import CookieError, SimpleCookie
from typing import Any

from cimprovider.http.auth import User
from cimprovider.http.authenticator import Authenticator, Refusal
from cimprovider.web.sessions import COOKIE_NAME, Session, Sessions

NO_SESSION = Refusal(401, "sign in to use the web console")
FOREIGN_ORIGIN = Refusal(403, "request from another origin refused")
BAD_TOKEN = Refusal(403, "the form's security token is missing or stale; reload the page and try again")
READ_ONLY = Refusal(403, "your role (reader) may look but not change anything")
LOOPBACK_ONLY = Refusal(403, "authentication is off: the web console answers loopback only")


def headers_of(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def cookie_from(headers: dict[str, str]) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(COOKIE_NAME)
    return morsel.value if morsel is not None else None


def client_address(scope: dict[str, Any]) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def is_loopback_address(address: str | None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def is_loopback_host(host: str | None) -> bool:
    """A Host header naming this machine's loopback (with or without port)."""
    if not host:
        return False
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]").lower()
    return name == "localhost" or is_loopback_address(name)


def own_origin(scope: dict[str, Any], headers: dict[str, str]) -> str | None:
    host = headers.get("host")
    if not host:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
    return f"{scheme}://{host}".lower()


def same_origin(scope: dict[str, Any], headers: dict[str, str], required: bool) -> bool:
    """The Origin header names the console itself. Without one, `required`
    decides (websockets and changes from browsers always send it)."""
    origin = headers.get("origin")
    if origin is None:
        return not required
    return origin.lower() == own_origin(scope, headers)


def cookie_header(cookie: str, secure: bool, max_age: int | None = None) -> bytes:
    """Set-Cookie for the session: unreadable by scripts, sent only to the
    console's own pages, and over HTTPS only when served over HTTPS."""
    parts = [f"{COOKIE_NAME}={cookie}", "Path=/ui", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts).encode()


class WebAccess:
    """The sessions and the checks every console request goes through."""

    def __init__(self, sessions: Sessions, authenticator: Authenticator) -> None:
        self.sessions = sessions
        self.authenticator = authenticator

    @classmethod
    def for_authenticator(cls, authenticator: Authenticator) -> "WebAccess":
        source = authenticator.source
        return cls(Sessions(source.users if source is not None else None), authenticator)

    @property
    def authentication_on(self) -> bool:
        return self.authenticator.enabled

    def reachable(self, scope: dict[str, Any], headers: dict[str, str]) -> Refusal | None:
        """Without authentication only loopback clients, naming loopback."""
        if self.authentication_on:
            return None
        if is_loopback_address(client_address(scope)) and is_loopback_host(headers.get("host")):
            return None
        return LOOPBACK_ONLY

    def session(self, scope: dict[str, Any]) -> Session | Refusal:
        """The session of a page or stream request."""
        headers = headers_of(scope)
        refused = self.reachable(scope, headers)
        if refused is not None:
            return refused
        session = self.sessions.find(cookie_from(headers))
        return session if session is not None else NO_SESSION

    def websocket_session(self, scope: dict[str, Any]) -> Session | Refusal:
        """The session a websocket handshake belongs to, or why it is
        refused: no live session cookie, or an Origin other than the
        console's own (a foreign page riding on the browser's cookie)."""
        headers = headers_of(scope)
        if not same_origin(scope, headers, required=True):
            return FOREIGN_ORIGIN
        return self.session(scope)

    def change_allowed(self, scope: dict[str, Any], session: Session, token: str | None) -> Refusal | None:
        """A change: same origin, the session's CSRF token, an admin."""
        if not same_origin(scope, headers_of(scope), required=False):
            return FOREIGN_ORIGIN
        if not session.csrf_matches(token):
            return BAD_TOKEN
        if not session.may_write():
            return READ_ONLY
        return None

    async def sign_in(self, name: str, password: str, address: str | None) -> User | Refusal:
        """The user these credentials prove, through the same checks,
        throttling and cache as HTTP Basic on the CIM port."""
        if ":" in name:
            return Refusal(401, "wrong user name or password")
        token = base64.b64encode(f"{name}:{password}".encode()).decode()
        outcome = await self.authenticator.authenticate(f"Basic {token}", address or "")
        if isinstance(outcome, Refusal) and outcome.status == 401:
            return Refusal(401, "wrong user name or password")
        return outcome
