"""Clients that hold connections without finishing a request, or open too
many, over real sockets: each is cut off or refused with a clear answer,
and everyone else is still served."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.support.live import LiveServer, in_process_server
from tests.support.rawhttp import (
    CIM_HEADERS,
    admitted,
    ENUMERATE_BODY,
    connect,
    enumerate_request,
    exchange,
    read_response,
    trickle_until_closed,
)


@pytest.fixture(scope="module")
def hasty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Deadlines short enough for a test to outlast them."""
    with in_process_server(
        tmp_path_factory.mktemp("hasty"), header_timeout_seconds=1, body_timeout_seconds=1, keep_alive_seconds=2
    ) as live:
        yield live


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Few connections allowed, so a test can reach the limits."""
    with in_process_server(
        tmp_path_factory.mktemp("small"), max_connections=12, max_connections_per_client=4
    ) as live:
        yield live


def served_eventually(port: int, source: str = "127.0.0.1", deadline_seconds: float = 60) -> bool:
    """The server releases a closed connection's count when it notices the
    close; until then a new connection may still be refused."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        answer = exchange(port, source)
        if answer is not None and answer.status == 200:
            return True
        time.sleep(0.1)
    return False


def hold(stack: ExitStack, port: int, source: str, count: int) -> None:
    """`count` connections from `source`, each proven admitted by a served
    request, kept open (keep-alive) until the stack closes."""
    for _ in range(count):
        stack.enter_context(admitted(port, source))


def test_headers_sent_a_byte_at_a_time_are_cut_off(hasty_server):
    with connect(hasty_server.port) as sock:
        pieces = itertools.chain([b"POST /cimom HTTP/1.1\r\nHost: x\r\nX-Slow: "], itertools.repeat(b"a"))
        answer = trickle_until_closed(sock, pieces)
    assert answer is not None, "the server kept a trickling request head open"
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"request headers not received within 1 s" in answer
    assert served_eventually(hasty_server.port)


def test_connection_that_never_sends_a_request_is_closed_quietly(hasty_server):
    with connect(hasty_server.port, timeout=60) as sock:
        try:
            answer = sock.recv(4096)
        except TimeoutError:
            answer = None
    assert answer == b"", "the server kept a silent connection open"


def test_body_sent_a_byte_at_a_time_is_cut_off(hasty_server):
    with connect(hasty_server.port) as sock:
        head = b"POST /cimom HTTP/1.1\r\n" + CIM_HEADERS + b"Content-Length: 100000\r\n\r\n"
        answer = trickle_until_closed(sock, itertools.chain([head], itertools.repeat(b"<")))
    assert answer is not None, "the server kept a trickling request body open"
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"request body not received within 1 s" in answer
    assert served_eventually(hasty_server.port)


def test_body_sent_steadily_above_the_minimum_rate_outlasts_the_body_timeout(hasty_server):
    # 1 s for the body, plus 1 s per 1024 bytes: 8 KiB pieces four times a
    # second keep well ahead, for three times the timeout.
    body = ENUMERATE_BODY + b" " * (96 * 1024)
    with connect(hasty_server.port) as sock:
        sock.sendall(b"POST /cimom HTTP/1.1\r\n" + CIM_HEADERS + b"Content-Length: %d\r\n\r\n" % len(body))
        for start in range(0, len(body), 8192):
            sock.sendall(body[start : start + 8192])
            time.sleep(0.25)
        answer = read_response(sock)
    assert answer is not None and answer.status == 200
    assert b"<INSTANCENAME" in answer.body


def test_keep_alive_connection_trickling_its_next_request_is_cut_off(hasty_server):
    with connect(hasty_server.port) as sock:
        sock.sendall(enumerate_request())
        first = read_response(sock)
        assert first is not None and first.status == 200
        answer = trickle_until_closed(sock, itertools.chain([b"POST /ci"], itertools.repeat(b"m")))
    assert answer is not None and answer.startswith(b"HTTP/1.1 408 ")


def test_one_megabyte_header_is_431(server):
    with connect(server.port) as sock:
        try:
            sock.sendall(b"POST /cimom HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the answer is read below all the same
        answer = read_response(sock)
    assert answer is not None, "the connection was reset without an answer"
    assert answer.status == 431
    assert b"request header fields too large" in answer.body


def test_connections_over_the_per_address_limit_are_refused(small_server):
    port = small_server.port
    with ExitStack() as stack:
        hold(stack, port, "127.0.0.2", 4)
        refused = exchange(port, "127.0.0.2")
        assert refused is not None and refused.status == 503
        assert refused.headers["retry-after"] == "5"
        assert refused.headers["connection"] == "close"
        assert b"too many connections" in refused.body
        # Another address is served meanwhile.
        other = exchange(port, "127.0.0.1")
        assert other is not None and other.status == 200
    assert served_eventually(port, "127.0.0.2")


def test_connections_over_the_total_limit_are_refused(small_server):
    port = small_server.port
    with ExitStack() as stack:
        for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            hold(stack, port, source, 4)
        refused = exchange(port, "127.0.0.5")
        assert refused is not None and refused.status == 503
        assert "retry-after" in refused.headers
    assert served_eventually(port, "127.0.0.5")


def test_thirty_two_clients_on_loopback_are_all_served(server):
    with ExitStack() as stack:
        sockets = [stack.enter_context(connect(server.port)) for _ in range(32)]
        for sock in sockets:  # all open at once, then each asks
            sock.sendall(enumerate_request())
        answers = []
        for sock in sockets:  # and asks again on the same connection
            answers.append(read_response(sock))
            sock.sendall(enumerate_request())
        answers += [read_response(sock) for sock in sockets]
    assert [answer.status if answer else None for answer in answers] == [200] * 64


@pytest.fixture(scope="module")
def patient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A short header deadline, the default keep-alive time."""
    with in_process_server(tmp_path_factory.mktemp("patient"), header_timeout_seconds=1) as live:
        yield live


def test_a_kept_alive_connection_idle_past_the_header_deadline_is_still_served(patient_server):
    """A client busy with its last answer (many do, under load) sends its
    next request later than the header deadline: the connection is still
    there for it, as the keep-alive time is what bounds idleness."""
    with connect(patient_server.port) as sock:
        sock.sendall(enumerate_request())
        assert read_response(sock).status == 200
        time.sleep(3)  # idle for three header deadlines: the stimulus, not a wait for a result
        sock.sendall(enumerate_request())
        assert read_response(sock).status == 200
