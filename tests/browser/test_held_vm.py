"""In the browser: a VM whose migration waits to be settled with its
destination. The source restarted during the commit and its destination
(hostb) does not answer, so the VM stays held: the VM list marks it, its
page says why and disables the buttons the server would refuse; once
hostb answers the hold ends and the page frees them by itself."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from uuid import UUID

import pytest
from playwright.sync_api import Browser, expect

from cimprovider.migration.outgoing import COMMITTING
from cimprovider.migration.store import MigrationStore, Outgoing
from cimprovider.schemas import SystemSettings
from cimprovider.web.sessions import COOKIE_NAME
from tests.integration.migration.test_faults import serve_host
from tests.integration.migration.two_hosts import ADMIN, write_peers, write_users
from tests.integration.web.console_server import ConsoleServer, console_server

TIMEOUT_MS = 60_000
NAME = "Held VM"
REASON = ("its migration to hostb is not settled: the server restarted during the migration to hostb; "
          "hostb may own the VM, so it stays held here until hostb answers")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HeldSetup:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()  # hostb's, where nothing answers until `destination_answers`
        self.peers = write_peers(base / "peers.toml", {"hostb": (f"http://127.0.0.1:{self.port}", ADMIN)})
        self.stack = ExitStack()

    def destination_answers(self) -> None:
        users = write_users(self.base / "b-users.json")
        self.stack.enter_context(serve_host(self.base, "hostb", "--port", str(self.port), "--users-file", str(users)))


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[ConsoleServer, UUID, HeldSetup]]:
    """A server that restarted with a migration to hostb in its commit: its
    VM is held from the start, while hostb stays silent."""
    setup = HeldSetup(tmp_path)
    with console_server(tmp_path) as first:
        vm_id = first.backend.define_vm(SystemSettings(name=NAME)).id
    store = MigrationStore(tmp_path / "server" / "migrations.sqlite3")
    store.put_outgoing(Outgoing(vm_id, COMMITTING, "hostb", "a-token", ()))
    store.close()
    with setup.stack, console_server(tmp_path, peers_file=setup.peers) as server:
        yield server, vm_id, setup


def test_a_held_vm_is_marked_and_its_buttons_wait_for_the_hold_to_end(held, browser: Browser) -> None:
    server, vm_id, setup = held
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies([{"name": COOKIE_NAME, "value": server.cookies["alice"], "url": server.origin}])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    guid = str(vm_id).upper()

    page.goto(f"{server.origin}/ui/vms")
    row = page.locator(f"#vm-{guid}")
    expect(row.get_by_role("cell").first).to_have_text("Off Held: its migration to hostb is not settled")
    expect(row.locator(".badge.held")).to_have_attribute("title", REASON)

    page.goto(f"{server.origin}/ui/vms/{guid}")
    actions = page.get_by_role("region", name="Actions")
    expect(actions.get_by_role("status")).to_have_text(f"Held, so every change is refused: {REASON}")
    for name in ("Start", "Delete"):
        button = actions.get_by_role("button", name=name, exact=True)
        expect(button).to_be_disabled()
        expect(button).to_have_accessible_description(f"Held, so every change is refused: {REASON}")

    setup.destination_answers()  # hostb says it has no such VM: the source undoes the move and frees it
    start = actions.get_by_role("button", name="Start", exact=True)
    expect(start).to_be_enabled()
    expect(actions.locator("#held-note")).to_be_hidden()
    expect(page.locator(f"#vm-{guid} .badge.held")).to_have_count(0)
    start.click()
    expect(page.locator(f"#vm-{guid}")).to_have_attribute("data-state", "Running")
    context.close()
