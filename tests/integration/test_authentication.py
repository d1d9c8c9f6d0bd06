"""HTTP Basic authentication on a live server: failures are throttled per
address (the connection's, whatever X-Forwarded-For says) and per name
with 429 and Retry-After, unknown names are answered
as wrong passwords are, changes to the users file apply without a restart,
and wrong passwords do not stall other clients."""

from __future__ import annotations

import base64
import http.client
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import pywbem

from cimprovider.http.auth import User, UsersFile, hash_password
from tests.support.live import LiveServer, in_process_server

ENUMERATE = (
    '<?xml version="1.0" encoding="utf-8" ?>'
    '<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ>'
    '<IMETHODCALL NAME="EnumerateInstanceNames"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"></NAMESPACE>'
    '<NAMESPACE NAME="interop"></NAMESPACE></LOCALNAMESPACEPATH><IPARAMVALUE NAME="ClassName">'
    '<CLASSNAME NAME="CIM_ObjectManager"></CLASSNAME></IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>'
).encode()


def enumerate_from(
    server: LiveServer, name: str, password: str, source: str = "127.0.0.1", extra: dict[str, str] | None = None
):
    """One CIM operation over a fresh connection from a loopback `source`
    address (with `extra` headers); (status, lower-cased headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60, source_address=(source, 0))
    credentials = base64.b64encode(f"{name}:{password}".encode()).decode()
    headers = {
        "Content-Type": 'application/xml; charset="utf-8"',
        "CIMOperation": "MethodCall",
        "CIMMethod": "EnumerateInstanceNames",
        "CIMObject": "root/interop",
        "Authorization": f"Basic {credentials}",
        **(extra or {}),
    }
    try:
        conn.request("POST", "/cimom", body=ENUMERATE, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def write_users(path: Path, cost: dict[str, int] | None = None, **passwords: str) -> None:
    UsersFile(path).save(
        {name: User(name, "admin", hash_password(pw, **(cost or {}))) for name, pw in passwords.items()}
    )


@pytest.fixture
def users(tmp_path: Path) -> Path:
    path = tmp_path / "users.json"
    write_users(path, alice="alice-pw", bob="bob-pw")
    return path


def serving(tmp_path: Path, users: Path, **config: object):
    return in_process_server(tmp_path / "data", users_file=users, **config)


def test_wrong_passwords_from_one_address_are_throttled_others_still_get_in(tmp_path, users, caplog):
    with caplog.at_level(logging.INFO, logger="cimprovider.auth"), serving(
        tmp_path, users, auth_failures_per_address=3, auth_failures_per_user=1000
    ) as server:
        statuses = [enumerate_from(server, "alice", f"guess-{n}")[0] for n in range(3)]
        assert statuses == [401, 401, 401]
        status, headers, body = enumerate_from(server, "alice", "guess-4")
        assert status == 429
        assert 0 < int(headers["retry-after"]) <= 20
        assert b"too many failed authentications" in body
        # The address is refused even with the right password; another is not.
        assert enumerate_from(server, "alice", "alice-pw")[0] == 429
        status, _, body = enumerate_from(server, "alice", "alice-pw", source="127.0.0.2")
        assert status == 200 and b"<INSTANCENAME" in body
    messages = [record.getMessage() for record in caplog.records]
    assert "authentication failed for user 'alice' from 127.0.0.1" in messages
    assert any(m.startswith("too many failed authentications for address 127.0.0.1") for m in messages)


def test_a_forwarded_for_header_does_not_change_the_address_failures_count_against(tmp_path, users, caplog):
    # The server is no proxy's backend: a client naming another address in
    # X-Forwarded-For (or Forwarded) would get a fresh allowance per name.
    with caplog.at_level(logging.INFO, logger="cimprovider.auth"), serving(
        tmp_path, users, auth_failures_per_address=3, auth_failures_per_user=1000
    ) as server:
        for n in range(3):
            forged = {"X-Forwarded-For": f"127.0.0.{n + 21}", "Forwarded": f"for=127.0.0.{n + 21}"}
            assert enumerate_from(server, "alice", f"guess-{n}", extra=forged)[0] == 401
        status, _, body = enumerate_from(server, "alice", "guess-4", extra={"X-Forwarded-For": "127.0.0.29"})
        assert status == 429 and b"too many failed authentications" in body
    messages = [record.getMessage() for record in caplog.records]
    assert messages.count("authentication failed for user 'alice' from 127.0.0.1") == 3
    assert not any(f"127.0.0.{n}" in m for m in messages for n in range(21, 30))


def test_unknown_names_are_answered_and_throttled_as_known_ones(tmp_path, users):
    with serving(tmp_path, users, auth_failures_per_address=1000, auth_failures_per_user=2) as server:
        answers = {}
        for name in ("bob", "nobody"):
            answers[name] = [enumerate_from(server, name, "guess", source=f"127.0.0.{n}") for n in (11, 12, 13)]
        for answer in answers.values():
            assert [status for status, _, _ in answer] == [401, 401, 429]
        drop = {"date", "retry-after"}
        seen = [[(s, {k: v for k, v in h.items() if k not in drop}, b) for s, h, b in a] for a in answers.values()]
        assert seen[0] == seen[1]


def test_a_user_keeps_working_where_they_succeeded_while_their_name_is_attacked(tmp_path, users):
    with serving(tmp_path, users, auth_failures_per_address=1000, auth_failures_per_user=2) as server:
        assert enumerate_from(server, "alice", "alice-pw", source="127.0.0.5")[0] == 200
        for _ in range(2):
            assert enumerate_from(server, "alice", "guess", source="127.0.0.66")[0] == 401
        assert enumerate_from(server, "alice", "alice-pw", source="127.0.0.66")[0] == 429
        assert enumerate_from(server, "alice", "alice-pw", source="127.0.0.7")[0] == 429
        assert enumerate_from(server, "alice", "alice-pw", source="127.0.0.5")[0] == 200


def test_users_file_changes_apply_without_a_restart(tmp_path, users):
    def works(name: str, password: str) -> bool:
        conn = server.connection(creds=(name, password))
        try:
            return len(conn.EnumerateInstanceNames("CIM_ObjectManager")) == 1
        except pywbem.AuthError:
            return False

    with serving(tmp_path, users) as server:
        assert works("alice", "alice-pw") and works("bob", "bob-pw")
        UsersFile(users).add("alice", "changed-pw", "admin")
        assert not works("alice", "alice-pw")
        assert works("alice", "changed-pw")
        UsersFile(users).remove("bob")
        assert not works("bob", "bob-pw")
        UsersFile(users).add("carol", "carol-pw", "reader")
        assert works("carol", "carol-pw")
        # A broken file keeps the users read before it.
        users.write_text("{ not json")
        assert works("carol", "carol-pw") and not works("bob", "bob-pw")


def test_wrong_passwords_do_not_stall_a_valid_user(tmp_path):
    """Four clients keep sending wrong passwords for a user whose hash is
    costly; a valid client\'s requests must not queue behind those checks.
    Progress is counted, not timed: while the valid client makes five
    requests, the server must not have finished five wrong ones."""
    path = tmp_path / "users.json"
    UsersFile(path).save({
        "alice": User("alice", "admin", hash_password("alice-pw", n=2**10)),
        "slow": User("slow", "admin", hash_password("slow-pw", n=2**14, p=4)),
    })
    stop = threading.Event()
    wrong_done = 0
    lock = threading.Lock()

    def hammer(source: str) -> None:
        nonlocal wrong_done
        guesses = 0
        while not stop.is_set():
            guesses += 1  # each guess its own, so no two share a check
            assert enumerate_from(server, "slow", f"wrong-{guesses}", source=source)[0] == 401
            with lock:
                wrong_done += 1

    with in_process_server(tmp_path / "data", users_file=path, auth_failures_per_address=100_000,
                           auth_failures_per_user=100_000) as server:
        assert enumerate_from(server, "alice", "alice-pw")[0] == 200  # verified once, then remembered
        with ThreadPoolExecutor(4) as pool:
            hammers = [pool.submit(hammer, f"127.0.0.{20 + n}") for n in range(4)]
            try:
                deadline = time.monotonic() + 60
                while wrong_done < 2:  # the hammering is under way
                    assert time.monotonic() < deadline, "wrong-password clients made no progress"
                    time.sleep(0.01)
                before = wrong_done
                for _ in range(5):
                    assert enumerate_from(server, "alice", "alice-pw")[0] == 200
                during = wrong_done - before
            finally:
                stop.set()
            for done in hammers:
                done.result()
    assert during < 5, f"{during} wrong-password checks finished while five valid requests waited"


def test_many_honest_clients_behind_one_address_are_never_throttled(tmp_path):
    """32 clients on loopback, each a user of its own connecting afresh (so
    32 checks run at once), with the default allowances."""
    path = tmp_path / "users.json"
    write_users(path, cost={"n": 2**12}, **{f"user-{n}": f"pw-{n}" for n in range(32)})
    with in_process_server(tmp_path / "data", users_file=path) as server:

        def client(number: int) -> list[int]:
            return [enumerate_from(server, f"user-{number}", f"pw-{number}")[0] for _ in range(3)]

        with ThreadPoolExecutor(32) as pool:
            statuses = [status for result in pool.map(client, range(32)) for status in result]
    assert statuses == [200] * 96
