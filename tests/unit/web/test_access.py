"""The checks every console request passes: session cookie, Origin, CSRF
token, role, loopback without authentication, and sign-in through the CIM
port's authenticator (same throttling)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cimprovider.http.auth import User, UsersFile, hash_password
from cimprovider.http.authenticator import Authenticator, Refusal, ThrottleSettings
from cimprovider.http.users_source import UsersSource
from cimprovider.web.access import WebAccess, cookie_header
from cimprovider.web.sessions import COOKIE_NAME, Session

CHEAP = dict(n=2**10, r=8, p=1)


def scope(cookie: str | None = None, origin: str | None = None, host: str = "127.0.0.1:5988",
          client: str = "127.0.0.1", kind: str = "http", scheme: str = "http") -> dict:
    headers = [(b"host", host.encode())]
    if cookie is not None:
        headers.append((b"cookie", f"other=1; {COOKIE_NAME}={cookie}".encode()))
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": kind, "scheme": scheme, "headers": headers, "client": (client, 40000), "path": "/ui/"}


@pytest.fixture
def access(tmp_path: Path) -> WebAccess:
    path = tmp_path / "users.json"
    UsersFile(path).save({
        "alice": User("alice", "admin", hash_password("alice-pw", **CHEAP)),
        "rita": User("rita", "reader", hash_password("rita-pw", **CHEAP)),
    })
    return WebAccess.for_authenticator(Authenticator(UsersSource(path), ThrottleSettings(per_user=3)))


def signed_in(access: WebAccess, name: str) -> tuple[str, Session]:
    return access.sessions.open(access.authenticator.source.users()[name])


def test_pages_need_a_live_session(access: WebAccess) -> None:
    assert access.session(scope()).status == 401
    assert access.session(scope(cookie="forged")).status == 401
    cookie, session = signed_in(access, "alice")
    assert access.session(scope(cookie=cookie, client="192.0.2.7")) is session


def test_websocket_needs_the_consoles_own_origin(access: WebAccess) -> None:
    cookie, session = signed_in(access, "alice")
    ws = dict(cookie=cookie, kind="websocket", scheme="ws")
    assert access.websocket_session(scope(**ws, origin="http://127.0.0.1:5988")) is session
    assert access.websocket_session(scope(**ws, origin="http://evil.example")).status == 403
    assert access.websocket_session(scope(**ws)).status == 403  # no Origin at all
    assert access.websocket_session(scope(**{**ws, "scheme": "wss"}, origin="http://127.0.0.1:5988")).status == 403
    no_cookie = scope(kind="websocket", scheme="ws", origin="http://127.0.0.1:5988")
    assert access.websocket_session(no_cookie).status == 401


def test_a_change_needs_token_origin_and_admin(access: WebAccess) -> None:
    cookie, admin = signed_in(access, "alice")
    here = scope(cookie=cookie, origin="http://127.0.0.1:5988")
    assert access.change_allowed(here, admin, admin.csrf_token) is None
    assert access.change_allowed(here, admin, "guess").status == 403
    assert access.change_allowed(here, admin, None).status == 403
    elsewhere = scope(cookie=cookie, origin="https://evil.example")
    assert access.change_allowed(elsewhere, admin, admin.csrf_token).status == 403
    reader_cookie, reader = signed_in(access, "rita")
    refused = access.change_allowed(scope(cookie=reader_cookie), reader, reader.csrf_token)
    assert refused.status == 403 and "reader" in refused.message


def test_without_authentication_only_loopback_answers(tmp_path: Path) -> None:
    access = WebAccess.for_authenticator(Authenticator(None))
    cookie, session = access.sessions.open(None)
    assert access.session(scope(cookie=cookie)) is session
    assert access.session(scope(cookie=cookie, host="localhost:5988")) is session
    assert access.session(scope(cookie=cookie, host="[::1]:5988", client="::1")) is session
    assert access.session(scope(cookie=cookie, client="192.0.2.7")).status == 403
    # a foreign name rebound to 127.0.0.1 reaches loopback with its own Host
    assert access.session(scope(cookie=cookie, host="rebound.example:5988")).status == 403


def test_sign_in_uses_the_cim_ports_authenticator_and_throttle(access: WebAccess) -> None:
    async def attempts() -> list:
        results = [await access.sign_in("alice", "alice-pw", "127.0.0.1")]
        for _ in range(4):
            results.append(await access.sign_in("alice", "wrong", "192.0.2.9"))
        results.append(await access.sign_in("rita:x", "rita-pw", "127.0.0.1"))
        return results

    first, *wrong, colon = asyncio.run(attempts())
    assert isinstance(first, User) and first.role == "admin"
    assert [r.status for r in wrong[:3]] == [401, 401, 401]
    assert wrong[3].status == 429 and wrong[3].retry_after
    assert wrong[0].message == "wrong user name or password"
    assert isinstance(colon, Refusal) and colon.status == 401
    access.authenticator.close()


def test_the_cookie_is_httponly_samesite_and_secure_over_https() -> None:
    plain = cookie_header("v", secure=False).decode()
    assert "HttpOnly" in plain and "SameSite=Strict" in plain and "Secure" not in plain
    assert "; Secure" in cookie_header("v", secure=True).decode()
