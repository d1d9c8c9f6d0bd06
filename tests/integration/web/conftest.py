"""A live server with two users for the web console's tests: alice
(admin) and rita (reader)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def peers_file(folder: Path) -> Iterator[Path]:
    """A peers file in `folder` naming two hosts: peer-host, a server
    started here (data in folder/peer) that signs its peers in as its
    administrator migrator, and gone, where nothing listens."""
    peer_users = folder / "peer-users.json"
    UsersFile(peer_users).save({"migrator": User("migrator", "admin", hash_password("m-pw", **CHEAP))})
    with in_process_server(folder / "peer", users_file=peer_users, host_name="peer-host") as peer:
        peers = folder / "peers.toml"
        peers.write_text(f'[peers.peer-host]\nurl = "http://127.0.0.1:{peer.port}"\nuser = "migrator"\n'
                         f'password = "m-pw"\n[peers.gone]\nurl = "http://127.0.0.1:9"\n')
        yield peers


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
