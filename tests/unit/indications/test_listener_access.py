"""Which listener addresses the server may connect to. Name resolution is
scripted here (a name server that changes its answer cannot be had on
loopback); the connections are real, to loopback listeners and traps."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import ip_network

import pytest

from cimprovider.indications.access import (
    LOOPBACK,
    DestinationRefused,
    ListenerAccess,
    ListenerTrustError,
    listener_access,
)
from cimprovider.indications.transport import DeliveryFailed, ListenerAddress, release, send_export
from tests.unit.indications.test_transport_and_projection import OK_BODY, http10, read_request

ALLOWED, FORBIDDEN = "127.0.0.2", "127.0.0.3"
ONLY_ALLOWED = (ip_network(f"{ALLOWED}/32"),)


class Resolver:
    """A name server whose answer the test changes."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = list(addresses)
        self.asked = 0

    def __call__(self, host: str, port: int) -> list[tuple[int, tuple]]:
        self.asked += 1
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, (a, port)) for a in self.addresses]


def test_loopback_is_the_default_and_a_configured_network_replaces_it() -> None:
    assert [str(n) for n in LOOPBACK] == ["127.0.0.0/8", "::1/128"]
    assert listener_access().networks == LOOPBACK
    assert listener_access(ONLY_ALLOWED).networks == ONLY_ALLOWED
    assert ListenerAccess().admits("::1") and ListenerAccess().admits(FORBIDDEN)
    assert not listener_access(ONLY_ALLOWED).admits(FORBIDDEN)


def test_every_address_a_name_resolves_to_must_be_allowed() -> None:
    access = ListenerAccess(ONLY_ALLOWED, resolve=Resolver(ALLOWED, FORBIDDEN))
    with pytest.raises(DestinationRefused) as refused:
        access.addresses("listener.test", 5990)
    message = str(refused.value)
    assert f"listener.test ({FORBIDDEN})" in message and f"({ALLOWED}/32)" in message
    assert ListenerAccess(ONLY_ALLOWED, resolve=Resolver(ALLOWED)).addresses("listener.test", 5990)


def test_an_ipv4_address_in_ipv6_form_is_judged_as_itself() -> None:
    access = ListenerAccess(ONLY_ALLOWED)
    assert access.admits(f"::ffff:{ALLOWED}")
    assert not access.admits(f"::ffff:{FORBIDDEN}")


def test_a_name_without_addresses_is_refused() -> None:
    with pytest.raises(DestinationRefused, match="does not resolve"):
        ListenerAccess(resolve=Resolver()).addresses("listener.test", 5990)


def test_an_unreadable_ca_file_is_named(tmp_path) -> None:
    missing = tmp_path / "absent.pem"
    with pytest.raises(ListenerTrustError, match="absent.pem"):
        listener_access(ca_file=missing)


@contextmanager
def answering(host: str) -> Iterator[int]:
    """An HTTP/1.0 listener on `host` answering every export with success."""
    server = socket.create_server((host, 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                if read_request(conn) is not None:
                    conn.sendall(http10(OK_BODY)(b""))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        server.close()


def test_a_name_that_moves_outside_is_refused_at_delivery_unreached() -> None:
    resolver = Resolver(ALLOWED)
    access = ListenerAccess(ONLY_ALLOWED, resolve=resolver)
    with answering(ALLOWED) as port:
        address = ListenerAddress.parse(f"http://listener.test:{port}/")
        send_export(address, b"<x/>", timeout=5, access=access)
    # The listener went away and the name now points at another host, where
    # something listens on the same port.
    resolver.addresses = [FORBIDDEN]
    with socket.create_server((FORBIDDEN, port)) as trap:
        trap.setblocking(False)
        failures = []
        try:
            # The first attempt finds the kept address dead; the next resolves again.
            for _ in range(2):
                with pytest.raises(DeliveryFailed) as failed:
                    send_export(address, b"<x/>", timeout=5, access=access)
                failures.append(str(failed.value))
        finally:
            release(address)
        assert "refused before connecting" in failures[-1] and FORBIDDEN in failures[-1]
        with pytest.raises(BlockingIOError):
            trap.accept()  # nothing ever connected
    assert resolver.asked == 2
