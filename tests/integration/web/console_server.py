"""A live server with users (alice and bob admins, rita a reader), their
browser sessions, and a simulated VM to attach consoles to."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

from cimprovider.backends import change_power_state
from cimprovider.http.auth import User, UsersFile, hash_password
from cimprovider.schemas import PowerRequest, SystemSettings
from cimprovider.web.vm_console.app import PREFIX
from cimprovider.web.sessions import COOKIE_NAME
from tests.support.live import in_process_server

CHEAP = dict(n=2**10, r=8, p=1)
USERS = {"alice": "admin", "bob": "admin", "rita": "reader"}


@dataclass
class ConsoleServer:
    port: int
    backend: object
    access: object
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cookie(self, user: str) -> str:
        return f"{COOKIE_NAME}={self.cookies[user]}"

    def running_vm(self, name: str) -> UUID:
        vm = self.backend.define_vm(SystemSettings(name=name))
        change_power_state(self.backend, vm.id, PowerRequest.START)
        return vm.id

    def get(self, path: str, user: str | None = None, origin: str | None = None) -> tuple[int, bytes]:
        """GET, again after a 503 (too many connections) as its Retry-After asks."""
        deadline = time.monotonic() + 30
        while True:
            status, body = self._get(path, user, origin)
            if status != 503 or time.monotonic() > deadline:
                return status, body

    def _get(self, path: str, user: str | None, origin: str | None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {}
        if user is not None:
            headers["Cookie"] = self.cookie(user)
        if origin is not None:
            headers["Origin"] = origin
        conn.request("GET", path, headers=headers)
        answer = conn.getresponse()
        body = answer.read()
        conn.close()
        return answer.status, body

    def ticket(self, user: str, vm_id: UUID, kind: str = "serial") -> dict:
        status, body = self.get(f"{PREFIX}vm/{vm_id}/{kind}/ticket", user)
        assert status == 200, body
        return json.loads(body)

    def socket_path(self, vm_id: UUID, ticket: str, kind: str = "serial") -> str:
        return f"{PREFIX}vm/{vm_id}/{kind}/socket?ticket={ticket}"


@contextmanager
def console_server(data_dir: Path, **config: object) -> Iterator[ConsoleServer]:
    users_file = data_dir / "users.json"
    UsersFile(users_file).save({name: User(name, role, hash_password(f"{name}-pw", **CHEAP)) for name, role in USERS.items()})
    found: dict = {}

    def extend(registry, catalog, parts) -> None:
        found["access"] = parts.web_access
        found["backend"] = parts.mounts[PREFIX].backend

    with in_process_server(data_dir / "server", extensions=[extend], users_file=users_file, **config) as live:
        server = ConsoleServer(live.port, found["backend"], found["access"])
        users = UsersFile(users_file).load()
        for name in USERS:
            # What signing in on the login form gives the browser.
            server.cookies[name], _ = found["access"].sessions.open(users[name])
        yield server
