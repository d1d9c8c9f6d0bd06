"""Browser sessions: expiry, revocation through the users file, and the
CSRF token each one carries."""

from __future__ import annotations

from pathlib import Path

import pytest

from cimprovider.http.auth import User, UsersFile, hash_password
from cimprovider.http.users_source import UsersSource
from cimprovider.web.sessions import Sessions

CHEAP = dict(n=2**10, r=8, p=1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def users(tmp_path: Path) -> UsersSource:
    path = tmp_path / "users.json"
    UsersFile(path).save({
        "alice": User("alice", "admin", hash_password("a", **CHEAP)),
        "rita": User("rita", "reader", hash_password("r", **CHEAP)),
    })
    return UsersSource(path)


def test_a_session_is_found_by_its_cookie_and_carries_its_user(users: UsersSource) -> None:
    sessions = Sessions(users.users)
    cookie, opened = sessions.open(users.users()["alice"])
    found = sessions.find(cookie)
    assert found is opened
    assert (found.user, found.role, found.may_write()) == ("alice", "admin", True)
    assert sessions.find(cookie + "x") is None
    assert sessions.find(None) is None


def test_the_store_keeps_no_usable_cookie(users: UsersSource) -> None:
    sessions = Sessions(users.users)
    cookie, session = sessions.open(users.users()["alice"])
    assert cookie.encode() != session.key and cookie not in repr(session)


def test_idle_and_lifetime_expiry(users: UsersSource) -> None:
    clock = Clock()
    sessions = Sessions(users.users, clock, idle_seconds=60, lifetime_seconds=300)
    cookie, _ = sessions.open(users.users()["alice"])
    for _ in range(4):
        clock.now += 59
        assert sessions.find(cookie) is not None  # used, so kept
    clock.now += 70  # 306 s after it started
    assert sessions.find(cookie) is None
    idle, _ = sessions.open(users.users()["alice"])
    clock.now += 59
    assert sessions.find(idle, touch=False) is not None  # looked at, not used
    clock.now += 2
    assert sessions.find(idle) is None


def test_a_removed_user_or_new_password_ends_the_session_and_a_role_change_follows(
    users: UsersSource,
) -> None:
    sessions = Sessions(users.users)
    alice, _ = sessions.open(users.users()["alice"])
    rita, _ = sessions.open(users.users()["rita"])
    file = users.file
    current = file.load()
    current["rita"] = User("rita", "admin", current["rita"].password_hash)
    current["alice"] = User("alice", "admin", hash_password("new", **CHEAP))
    file.save(current)
    assert sessions.find(alice) is None
    assert sessions.find(rita).role == "admin"
    file.remove("rita")
    assert sessions.find(rita) is None


def test_logout_and_the_bound_on_live_sessions(users: UsersSource) -> None:
    sessions = Sessions(users.users, max_sessions=3)
    cookies = [sessions.open(users.users()["alice"])[0] for _ in range(4)]
    assert sessions.find(cookies[0]) is None  # the oldest made room
    sessions.close(cookies[1])
    assert sessions.find(cookies[1]) is None
    assert sessions.find(cookies[3]) is not None


def test_csrf_token_is_per_session_and_compared_whole(users: UsersSource) -> None:
    sessions = Sessions(users.users)
    _, one = sessions.open(users.users()["alice"])
    _, two = sessions.open(users.users()["alice"])
    assert one.csrf_token != two.csrf_token
    assert one.csrf_matches(one.csrf_token)
    assert not one.csrf_matches(two.csrf_token)
    assert not one.csrf_matches(one.csrf_token[:-1])
    assert not one.csrf_matches(None)


def test_without_authentication_a_session_is_the_anonymous_admin() -> None:
    sessions = Sessions(None)
    cookie, session = sessions.open(None)
    assert sessions.find(cookie) is session
    assert session.principal("127.0.0.1").role == "admin" and session.user is None


def test_one_user_signing_in_again_and_again_ends_only_their_own_sessions(users: UsersSource) -> None:
    sessions = Sessions(users.users)
    alice, _ = sessions.open(users.users()["alice"])
    rita = [sessions.open(users.users()["rita"])[0] for _ in range(sessions.max_sessions + 1)]
    assert sessions.find(alice) is not None  # another user's flood does not sign her out
    assert sessions.find(rita[-1]) is not None and sessions.find(rita[0]) is None
    assert len(sessions) == 1 + sessions.max_sessions_per_user
