"""Sign-in driven through the console's ASGI application in memory: the
session cookie is Secure exactly when the console is served over HTTPS."""

from __future__ import annotations

import asyncio

from cimprovider.http.authenticator import Authenticator
from cimprovider.web.access import WebAccess
from cimprovider.web.app import WebApplication
from cimprovider.web.console import Console


def sign_in(scheme: str) -> dict[str, str]:
    app = WebApplication(WebAccess.for_authenticator(Authenticator(None)), Console(None, None, "host"))  # type: ignore[arg-type]
    scope = {"type": "http", "method": "POST", "path": "/ui/login", "scheme": scheme, "query_string": b"",
             "client": ("127.0.0.1", 5000),
             "headers": [(b"host", b"localhost:5989"), (b"origin", f"{scheme}://localhost:5989".encode()),
                         (b"content-type", b"application/x-www-form-urlencoded")]}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"next=%2Fui%2Fhosts", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    app.close()
    start = sent[0]
    assert start["status"] == 303
    return {k.decode(): v.decode() for k, v in start["headers"]}


def test_the_session_cookie_is_secure_over_https_only() -> None:
    secure = sign_in("https")
    assert secure["location"] == "/ui/hosts"
    assert "; Secure" in secure["set-cookie"] and "HttpOnly" in secure["set-cookie"]
    assert "Secure" not in sign_in("http")["set-cookie"]


def test_console_websockets_reach_their_handler_only_with_a_session_and_our_origin() -> None:
    access = WebAccess.for_authenticator(Authenticator(None))
    app = WebApplication(access, Console(None, None, "host"))  # type: ignore[arg-type]
    reached: list[str | None] = []

    async def handler(scope, receive, send, session) -> None:  # noqa: ANN001 - ASGI
        reached.append(session.role)
        await send({"type": "websocket.accept"})

    app.websockets["/console/"] = handler
    cookie, _ = access.sessions.open(None)

    def connect(origin: str, with_cookie: bool = True) -> list[dict]:
        headers = [(b"host", b"127.0.0.1:5988"), (b"origin", origin.encode())]
        if with_cookie:
            headers.append((b"cookie", f"cimprovider-session={cookie}".encode()))
        scope = {"type": "websocket", "path": "/ui/console/ABC", "scheme": "ws", "headers": headers,
                 "client": ("127.0.0.1", 5000), "query_string": b""}
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "websocket.connect"}

        async def send(message: dict) -> None:
            sent.append(message)

        asyncio.run(app(scope, receive, send))
        return sent

    assert connect("http://127.0.0.1:5988") == [{"type": "websocket.accept"}] and reached == ["admin"]
    assert connect("http://evil.example")[0]["type"] == "websocket.close"
    assert connect("http://127.0.0.1:5988", with_cookie=False)[0]["type"] == "websocket.close"
    assert reached == ["admin"]
    app.close()
