"""The authenticator against a real users file (cheap scrypt parameters so
that the tests run quickly; the code path is the one the server takes)."""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path

import pytest

from cimprovider.http.auth import User, UsersFile, hash_password
from cimprovider.http.authenticator import Authenticator, Refusal, ThrottleSettings
from cimprovider.http.users_source import UsersSource

CHEAP = dict(n=2**10, r=8, p=1)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def write_users(path: Path, **passwords: str) -> None:
    UsersFile(path).save({name: User(name, "admin", hash_password(pw, **CHEAP)) for name, pw in passwords.items()})


def authenticator(path: Path, **throttle) -> Authenticator:
    return Authenticator(UsersSource(path), ThrottleSettings(**throttle))


def run(auth: Authenticator, name: str, password: str, address: str = "127.0.0.1"):
    return asyncio.run(auth.authenticate(basic(name, password), address))


@pytest.fixture
def users(tmp_path: Path) -> Path:
    path = tmp_path / "users.json"
    write_users(path, alice="alice-pw", bob="bob-pw")
    return path


def test_valid_credentials_are_verified_once_then_remembered(users):
    auth = authenticator(users)
    assert run(auth, "alice", "alice-pw").name == "alice"
    assert run(auth, "alice", "alice-pw").name == "alice"
    assert auth.verifications == 1
    assert run(auth, "alice", "wrong") == Refusal(401, "authentication required")
    assert auth.verifications == 2
    auth.close()


def test_headers_that_prove_nothing_are_challenged_without_a_verification(users):
    auth = authenticator(users)
    for header in (None, "", "Basic !!!", "Bearer abc", "Basic " + base64.b64encode(b"no-colon").decode()):
        assert asyncio.run(auth.authenticate(header, "127.0.0.1")).status == 401
    assert auth.verifications == 0


def test_an_unknown_name_costs_a_verification_and_is_answered_as_a_wrong_password(users):
    auth = authenticator(users)
    unknown = run(auth, "mallory", "alice-pw")
    assert auth.verifications == 1
    wrong = run(auth, "alice", "mallory-pw")
    assert auth.verifications == 2
    assert unknown == wrong
    auth.close()


def test_unknown_and_known_names_are_throttled_alike(users):
    auth = authenticator(users, per_address=1000, per_user=3, window_seconds=60)
    for name in ("alice", "nobody"):
        answers = [run(auth, name, "guess", address=f"127.0.0.{n}") for n in range(1, 5)]
        assert [a.status for a in answers] == [401, 401, 401, 429]
        assert answers[-1].retry_after == 20
    assert run(auth, "bob", "bob-pw").name == "bob"
    auth.close()


def test_a_burst_cannot_start_more_verifications_than_the_allowance(users):
    auth = authenticator(users, per_address=3, per_user=1000, window_seconds=60)

    async def burst():
        return await asyncio.gather(*(auth.authenticate(basic("alice", f"guess-{n}"), "127.0.0.1") for n in range(10)))

    answers = asyncio.run(burst())
    assert auth.verifications == 3
    assert sorted(a.status for a in answers) == [401] * 3 + [429] * 7
    auth.close()


def test_a_changed_password_and_a_removed_user_take_effect_at_once(users):
    auth = authenticator(users)
    assert run(auth, "alice", "alice-pw").name == "alice"
    write_users(users, alice="new-pw", bob="bob-pw")
    assert run(auth, "alice", "alice-pw").status == 401
    assert run(auth, "alice", "new-pw").name == "alice"
    assert run(auth, "bob", "bob-pw").name == "bob"
    write_users(users, alice="new-pw")
    assert run(auth, "bob", "bob-pw").status == 401
    auth.close()


def test_a_broken_users_file_keeps_the_last_good_users_and_says_so(users, caplog):
    auth = authenticator(users)
    users.write_text("{half a file")
    with caplog.at_level(logging.ERROR, logger="cimprovider.auth"):
        assert run(auth, "alice", "alice-pw").name == "alice"
    assert any(str(users) in r.getMessage() and "keeping the 2 users" in r.getMessage() for r in caplog.records)
    write_users(users, alice="mended-pw")
    assert run(auth, "alice", "mended-pw").name == "alice"
    auth.close()


def test_a_users_file_that_is_gone_lets_nobody_in(users):
    auth = authenticator(users)
    assert run(auth, "alice", "alice-pw").name == "alice"
    users.unlink()
    assert run(auth, "alice", "alice-pw").status == 401


def test_the_throttle_is_logged_when_it_starts(users, caplog):
    auth = authenticator(users, per_address=2, per_user=1000, window_seconds=60)
    with caplog.at_level(logging.INFO, logger="cimprovider.auth"):
        run(auth, "alice", "x")
        run(auth, "alice", "y")
    messages = [r.getMessage() for r in caplog.records]
    assert "authentication failed for user 'alice' from 127.0.0.1" in messages
    assert "too many failed authentications for address 127.0.0.1: refusing it for 30 s" in messages
    auth.close()


def test_beyond_the_pending_bound_new_checks_are_refused_but_remembered_users_pass(users):
    auth = Authenticator(UsersSource(users), ThrottleSettings(), max_pending=2)
    assert run(auth, "bob", "bob-pw").name == "bob"

    async def crowd():
        guesses = [auth.authenticate(basic(f"user-{n}", "guess"), f"127.0.0.{n}") for n in range(5)]
        return await asyncio.gather(*guesses, auth.authenticate(basic("bob", "bob-pw"), "127.0.0.9"))

    *guesses, bob = asyncio.run(crowd())
    assert sorted(g.status for g in guesses) == [401, 401, 503, 503, 503]
    assert bob.name == "bob"
    auth.close()

