"""A reply written from its pieces with writev (cimprovider.http.gather),
from the loop or from a sender thread, arrives byte for byte, in order,
over a real socket whose buffer fills many times over (partial sends inside
a piece, more pieces than one call takes); a writer waiting for room gives
up when the connection is lost; a TLS connection is never gathered. Each
runs on asyncio's own loop and on the one `cimprovider serve` runs (uvloop),
whose transports are not asyncio's classes."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import threading

import pytest

from array import array
from itertools import accumulate

from collections.abc import Callable, Coroutine
from typing import Any

from cimprovider.http.gather import IOV_MAX, OFFLOAD_BYTES, GatherWriter, can_gather
from cimprovider.serving import event_loop
from cimprovider.wire.reply import Measured

SLOW_READ = 4096
Run = Callable[[Coroutine[Any, Any, Any]], Any]


@pytest.fixture(params=[asyncio.new_event_loop, event_loop], ids=["asyncio", "served loop"])
def run(request: pytest.FixtureRequest) -> Run:
    def on_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=request.param) as runner:
            return runner.run(coroutine)

    return on_loop


def _pieces() -> list[bytes]:
    # Sizes that straddle every boundary: empty, tiny, and larger than the
    # socket buffer, and more of them than one writev may carry.
    sizes = [0, 1, 7, 3600, 65536, 300_000, 13] * ((3 * IOV_MAX) // 7 + 1)
    return [bytes([i % 251]) * size for i, size in enumerate(sizes)]


async def _transport(sock: socket.socket) -> asyncio.Transport:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, sock)
    return transport  # type: ignore[return-value]


def _read_all(sock: socket.socket, into: bytearray) -> None:
    while chunk := sock.recv(SLOW_READ):
        into += chunk


def _small_pieces() -> list[bytes]:
    # A reply under OFFLOAD_BYTES, written from the loop itself.
    sizes = [0, 1, 7, 60, 13] * ((3 * IOV_MAX) // 5 + 1)
    pieces = [bytes([i % 251]) * size for i, size in enumerate(sizes)]
    assert sum(map(len, pieces)) < OFFLOAD_BYTES
    return pieces


@pytest.mark.parametrize("make", [_pieces, _small_pieces], ids=["on sender threads", "on the loop"])
def test_every_piece_arrives_in_order_though_the_socket_fills(make, run: Run) -> None:
    pieces = make()
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    received = bytearray()
    reader = threading.Thread(target=_read_all, args=(theirs, received))

    async def write() -> bool:
        transport = await _transport(ours)
        assert can_gather(transport)
        reader.start()
        written = await GatherWriter(transport).write(pieces)
        transport.close()
        return written

    assert run(write())
    reader.join(timeout=120)
    theirs.close()
    assert not reader.is_alive()
    assert len(received) == sum(map(len, pieces))
    assert bytes(received) == b"".join(pieces)


def _measured_slice(kept: list[bytes]) -> tuple[list[bytes], list[Measured]]:
    # A pull's slice of a kept whole list: its ends are the list's own,
    # counted from the list's start, between loose pieces of the reply.
    ends = array("q", accumulate(map(len, kept)))
    first, count = 5, len(kept) - 12
    pieces = [b"<head>", b"", *kept[first : first + count], b"<tail>", b"</end>"]
    return pieces, [Measured(2, count, ends, first)]


@pytest.mark.parametrize("head", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"], ids=["no head", "a head"])
@pytest.mark.parametrize("make", [_pieces, _small_pieces], ids=["on sender threads", "on the loop"])
def test_pieces_whose_ends_are_known_arrive_in_order(make, head: bytes, run: Run) -> None:
    pieces, measured = _measured_slice(make())
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    received = bytearray()
    reader = threading.Thread(target=_read_all, args=(theirs, received))

    async def write() -> bool:
        transport = await _transport(ours)
        reader.start()
        written = await GatherWriter(transport).write(pieces, measured, head)
        transport.close()
        return written

    assert run(write())
    reader.join(timeout=120)
    theirs.close()
    assert not reader.is_alive()
    assert bytes(received) == head + b"".join(pieces)


def test_a_writer_waiting_for_room_stops_when_the_connection_is_lost(run: Run) -> None:
    ours, theirs = socket.socketpair()  # nobody reads theirs: the buffer fills

    async def write() -> bool:
        transport = await _transport(ours)
        writer = GatherWriter(transport)
        loop = asyncio.get_running_loop()
        pending = loop.create_task(writer.write(_pieces()))
        for _ in range(600):  # up to 60 s for the writer to fill the buffer and wait
            if writer._room is not None:
                break
            await asyncio.sleep(0.1)
        assert writer._room is not None, "the writer never waited for room"
        writer.stop()
        written = await asyncio.wait_for(pending, 60)
        transport.close()
        return written

    assert run(write()) is False
    theirs.close()


def test_a_transport_with_bytes_of_its_own_waiting_is_not_overtaken(run: Run) -> None:
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)

    async def check() -> bool:
        transport = await _transport(ours)
        transport.write(b"x" * 1_000_000)  # more than the socket takes: the rest waits in the transport
        gathering = can_gather(transport)
        transport.abort()
        return gathering

    assert run(check()) is False
    theirs.close()


def test_a_tls_connection_is_never_gathered(run: Run, tmp_path) -> None:
    # writev on the socket beneath TLS would put the reply on the wire in clear.
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    client_side = ssl.create_default_context()
    client_side.check_hostname = False
    client_side.verify_mode = ssl.CERT_NONE

    async def check() -> bool:
        loop = asyncio.get_running_loop()
        accepted: asyncio.Future[asyncio.BaseTransport] = loop.create_future()

        class Accept(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
                accepted.set_result(transport)

        server = await loop.create_server(Accept, "127.0.0.1", 0, ssl=server_side)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_side)
        transport = await asyncio.wait_for(accepted, 60)
        assert transport.get_extra_info("socket") is not None  # there is a socket to be tempted by
        gathering = can_gather(transport)
        writer.close()
        server.close()
        return gathering

    assert run(check()) is False
