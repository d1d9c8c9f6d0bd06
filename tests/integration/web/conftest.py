"""A live server with two users for the web console's tests: alice
(admin) and rita (reader)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cimprovider.http.auth import User, UsersFile, hash_password
from tests.support.live import LiveServer, in_process_server

CHEAP = dict(n=2**10, r=8, p=1)
PASSWORDS = {"alice": "alice-pw", "rita": "rita-pw"}


def write_users(path: Path) -> None:
    UsersFile(path).save({
        "alice": User("alice", "admin", hash_password(PASSWORDS["alice"], **CHEAP)),
        "rita": User("rita", "reader", hash_password(PASSWORDS["rita"], **CHEAP)),
    })


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("web")
    users = data / "users.json"
    write_users(users)
    with in_process_server(data, users_file=users) as live:
        yield live


@pytest.fixture(scope="module")
def base(web_server: LiveServer) -> str:
    return f"http://127.0.0.1:{web_server.port}"
