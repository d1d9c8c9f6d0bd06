"""The serial console over the server's websocket, and who may open it:
a session of the console's own origin, with a ticket issued to that very
session for that console; readers watch but do not type."""

from __future__ import annotations

import time

import pytest

from cimprovider.backends import change_power_state
from cimprovider.schemas import PowerRequest
from tests.integration.web.console_server import ConsoleServer, console_server
from tests.support.websocket import Rejected, WebSocketClient


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with console_server(tmp_path_factory.mktemp("console")) as live:
        yield live


def open_console(server: ConsoleServer, user: str, vm_id, ticket_user: str | None = None,
                 origin: str | None = "own", kind: str = "serial") -> WebSocketClient:
    ticket = server.ticket(ticket_user or user, vm_id, kind)["ticket"]
    return WebSocketClient.connect(
        server.port, server.socket_path(vm_id, ticket, kind),
        origin=server.origin if origin == "own" else origin, cookie=server.cookie(user),
    )


def test_echo_hello_answers(server: ConsoleServer) -> None:
    vm_id = server.running_vm("Echo VM")
    console = open_console(server, "alice", vm_id)
    console.wait_for(b"root@echo-vm:~# ")
    console.send(b"echo hello\r")
    assert console.wait_for(b"hello\r\nroot@echo-vm:~# ").endswith(b"echo hello\r\nhello\r\nroot@echo-vm:~# ")
    console.close()


def test_no_socket_without_a_session(server: ConsoleServer) -> None:
    vm_id = server.running_vm("No Session")
    ticket = server.ticket("alice", vm_id)["ticket"]
    with pytest.raises(Rejected) as refused:
        WebSocketClient.connect(server.port, server.socket_path(vm_id, ticket), origin=server.origin)
    assert refused.value.status == 403
    with pytest.raises(Rejected) as refused:
        WebSocketClient.connect(server.port, server.socket_path(vm_id, ticket), origin=server.origin,
                                cookie="cimprovider-session=forged")
    assert refused.value.status == 403
    assert server.get(f"/ui/console/vm/{vm_id}/serial/ticket")[0] == 401


def test_another_origin_is_refused(server: ConsoleServer) -> None:
    vm_id = server.running_vm("Foreign Origin")
    for origin in ("http://evil.example", f"http://localhost:{server.port}", None):
        with pytest.raises(Rejected) as refused:
            open_console(server, "alice", vm_id, origin=origin)
        assert refused.value.status == 403, origin


def test_another_users_ticket_is_refused(server: ConsoleServer) -> None:
    vm_id = server.running_vm("Alice Only")
    with pytest.raises(Rejected) as refused:
        open_console(server, "bob", vm_id, ticket_user="alice")
    assert refused.value.status == 403


def test_a_ticket_opens_one_socket_for_one_console(server: ConsoleServer) -> None:
    vm_id, other_id = server.running_vm("Ticketed"), server.running_vm("Other")
    ticket = server.ticket("alice", vm_id)["ticket"]
    first = WebSocketClient.connect(server.port, server.socket_path(vm_id, ticket), origin=server.origin,
                                    cookie=server.cookie("alice"))
    first.wait_for(b"# ")
    with pytest.raises(Rejected):  # used already
        WebSocketClient.connect(server.port, server.socket_path(vm_id, ticket), origin=server.origin,
                                cookie=server.cookie("alice"))
    ticket = server.ticket("alice", vm_id)["ticket"]
    with pytest.raises(Rejected):  # issued for another VM's console
        WebSocketClient.connect(server.port, server.socket_path(other_id, ticket), origin=server.origin,
                                cookie=server.cookie("alice"))
    first.close()


def test_a_reader_watches_but_cannot_type(server: ConsoleServer) -> None:
    vm_id = server.running_vm("Watched")
    assert server.ticket("rita", vm_id)["viewOnly"] is True
    assert server.ticket("alice", vm_id)["viewOnly"] is False
    reader = open_console(server, "rita", vm_id)
    admin = open_console(server, "alice", vm_id)
    reader.wait_for(b"# ")
    admin.wait_for(b"# ")
    reader.send(b"echo from-the-reader\r")
    admin.send(b"echo from-the-admin\r")
    reader.wait_for(b"\r\nfrom-the-admin\r\n")  # the reader sees the line
    admin.wait_for(b"\r\nfrom-the-admin\r\n")
    assert b"from-the-reader" not in admin.received
    reader.close()
    admin.close()


def test_the_console_ends_when_the_vm_stops(server: ConsoleServer) -> None:
    vm_id = server.running_vm("Stopping")
    console = open_console(server, "alice", vm_id)
    console.wait_for(b"# ")
    change_power_state(server.backend, vm_id, PowerRequest.STOP)
    closed = console.wait_closed()
    assert (closed.code, closed.reason) == (4000, "the VM is stopping")
    console.close()
    # Off: the page learns why there is no console.
    console = open_console(server, "alice", vm_id)
    closed = console.wait_closed()
    assert closed.code == 4409 and "'Stopping' is off" in closed.reason
    console.close()


def test_no_graphics_console_on_the_simulated_host(server: ConsoleServer) -> None:
    vm_id = server.running_vm("Text Only")
    status, body = server.get(f"/ui/console/vm/{vm_id}/graphics/ticket", "alice")
    assert (status, body) == (404, b"this VM has no screen to show: it has no VNC display (simulated VMs have none)\n")


def admitted(connect, timeout: float = 30):
    """Connect once the server has counted the last connection out (it
    does so as it sees the close, a moment after the client)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return connect()
        except Rejected as refused:
            if refused.status != 503 or time.monotonic() > deadline:
                raise


def test_websockets_elsewhere_are_refused_and_counted_out(tmp_path) -> None:
    # Two connections per address at most: sockets that were not given back
    # to the gate would lock this client out by the third round.
    with console_server(tmp_path, max_connections_per_client=2) as server:
        vm_id = server.running_vm("Counted")
        for _ in range(4):
            with pytest.raises(Rejected) as refused:
                admitted(lambda: WebSocketClient.connect(server.port, "/cimom", origin=server.origin, cookie=server.cookie("alice")))
            assert refused.value.status == 403
            console = admitted(lambda: open_console(server, "alice", vm_id))
            console.wait_for(b"# ")
            console.close()


def test_signing_out_ends_an_open_console(tmp_path) -> None:
    with console_server(tmp_path) as server:
        vm_id = server.running_vm("Signed Out")
        console = open_console(server, "bob", vm_id)
        console.wait_for(b"# ")
        server.access.sessions.close(server.cookies["bob"])  # what "Sign out" does
        closed = console.wait_closed(timeout=60)
        assert (closed.code, closed.reason) == (4401, "the session ended; sign in again")
        console.close()
