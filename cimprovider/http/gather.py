"""A large reply written straight from its pieces with sendmsg.

An enumeration's reply is a list of byte pieces (wire/reply.py), mostly the
kept XML of each instance. Sent as ASGI body messages, each 64 KiB chunk is
joined from its pieces, framed by h11, and copied twice more by asyncio's
socket transport (the unsent tail is sliced, then appended to its buffer);
the event loop wakes once per chunk for flow control. At 1,000 VMs (3.6 MB)
that was most of the loop's time per reply. Here the kernel gathers the
pieces itself (sendmsg, up to IOV_MAX of them a call) and the loop wakes
only when the socket's buffer is full.

h11 still frames the message: it is told of the body as one Data event
whose data is a placeholder of the body's length (h11's documented way to
send a body it does not copy), so Content-Length is checked as for any
body. Plain TCP only: a TLS transport encrypts what it is given, so HTTPS
replies keep the chunked path."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import os
import socket
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

# The ASGI extension (advertised in the scope) and the message carrying the pieces.
PIECES = "cimprovider.response.pieces"
IOV_MAX = min(os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024, 1024)


class BodyLength:
    """Stands for the body in h11's Data event: h11 only needs its length."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size


def can_gather(transport: asyncio.BaseTransport) -> bool:
    """True for a plain socket transport (not TLS) with nothing waiting in
    its own buffer, which would otherwise be overtaken."""
    if transport.get_extra_info("sslcontext") is not None or transport.get_extra_info("socket") is None:
        return False
    return isinstance(transport, asyncio.WriteTransport) and transport.get_write_buffer_size() == 0


def cork(transport: asyncio.BaseTransport, on: bool) -> None:
    """TCP_CORK (Linux): while on, what is written waits to fill whole
    segments, so a response's head leaves with its body's first bytes."""
    sock = transport.get_extra_info("socket")
    if hasattr(socket, "TCP_CORK") and sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, int(on))
        except OSError:
            pass  # closed meanwhile: nothing is left to hold back or let go


class GatherWriter:
    """Writes pieces to the transport's socket through a duplicate of its
    descriptor, so the loop's own registration of the socket is untouched.
    `stop()` (connection lost) wakes a writer waiting for room.

    A large reply's sendmsg calls run on a small pool of sender threads,
    each until the socket is full: the kernel's copy of the bytes (most of
    a large reply's cost) releases the interpreter lock, so copies for
    several clients proceed on several cores while the loop reads the next
    requests. A thread never waits for a slow client: when the socket is
    full it returns, and the loop waits for room as before."""

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.loop = asyncio.get_running_loop()
        self._room: asyncio.Future[None] | None = None
        self.stopped = False
        self.corked = True

    def stop(self) -> None:
        self.stopped = True
        if self._room is not None and not self._room.done():
            self._room.set_result(None)

    async def write(self, pieces: Sequence[bytes]) -> bool:
        """Send every piece; False if the connection broke first."""
        shared = self.transport.get_extra_info("socket")
        try:
            with socket.fromfd(shared.fileno(), shared.family, shared.type) as sock:
                sock.setblocking(False)
                return await self._send_all(sock, pieces)
        finally:
            if self.corked and not self.stopped:  # nothing was sent: let the head go
                cork(self.transport, False)

    async def _send_all(self, sock: socket.socket, pieces: Sequence[bytes]) -> bool:
        position = _Position(pieces)
        offload = position.total >= OFFLOAD_BYTES
        while not position.done and not self.stopped:
            if offload:
                broken = await self._send_on_thread(sock, position)
            else:
                broken = self._send_until_full(sock, position)
            if broken:
                return False  # reset or broken pipe: the transport learns of it when it reads
            if not position.done and not self.stopped:
                await self._wait_for_room(sock)
        return not self.stopped

    async def _send_on_thread(self, sock: socket.socket, position: _Position) -> bool:
        sending = self.loop.run_in_executor(_senders(), self._send_until_full, sock, position)
        try:
            return await asyncio.shield(sending)
        except asyncio.CancelledError:
            # The descriptor is closed when this returns: not while the
            # thread still writes on it (its number could be reused).
            self.stopped = True
            await asyncio.wait([sending])
            raise

    def _send_until_full(self, sock: socket.socket, position: _Position) -> bool:
        """sendmsg until every piece is sent or the socket is full; True if
        the connection broke. Runs on a sender thread for large replies."""
        while not position.done and not self.stopped:
            batch = position.batch()
            try:
                sent = sock.sendmsg(batch)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                return True
            if self.corked:
                self.corked = False
                _uncork(sock)  # the head and the first bytes leave now
            if not position.advance(sent, batch):
                return False  # the socket took less than offered: it is full
        return False

    async def _wait_for_room(self, sock: socket.socket) -> None:
        room = self._room = self.loop.create_future()
        self.loop.add_writer(sock.fileno(), _settle, room)
        try:
            await room
        finally:
            self.loop.remove_writer(sock.fileno())
            self._room = None


# Replies from this size on are sent from a sender thread; below, the hop
# to a thread costs more than the copy it would move off the loop.
OFFLOAD_BYTES = 256 * 1024
SENDERS = max(2, min(4, os.cpu_count() or 1))
_pool: list[ThreadPoolExecutor] = []
_pool_lock = threading.Lock()


def _senders() -> ThreadPoolExecutor:
    if not _pool:
        with _pool_lock:
            if not _pool:
                _pool.append(ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="reply-send"))
    return _pool[0]


def _uncork(sock: socket.socket) -> None:
    if hasattr(socket, "TCP_CORK") and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
        except OSError:
            pass  # closed meanwhile: nothing is left to let go


class _Position:
    """How far the sending has come, as a byte offset into the pieces; the
    piece it falls in is found by bisection over the pieces' cumulative
    ends, so a reply of thousands of pieces costs no walk over them per call."""

    __slots__ = ("pieces", "ends", "total", "offset")

    def __init__(self, pieces: Sequence[bytes]) -> None:
        self.pieces = pieces
        self.ends = list(itertools.accumulate(map(len, pieces)))
        self.total = self.ends[-1] if self.ends else 0
        self.offset = 0

    @property
    def done(self) -> bool:
        return self.offset >= self.total

    def batch(self) -> list[bytes | memoryview]:
        """The next pieces to offer (up to IOV_MAX), the first cut where the
        last call stopped."""
        index = bisect.bisect_right(self.ends, self.offset)
        batch: list[bytes | memoryview] = list(self.pieces[index : index + IOV_MAX])
        start = self.ends[index - 1] if index else 0
        if self.offset > start:
            batch[0] = memoryview(batch[0])[self.offset - start :]
        return batch

    def advance(self, sent: int, batch: list[bytes | memoryview]) -> bool:
        """Count `sent` bytes as gone; True if the whole batch went (the
        socket may take more at once)."""
        self.offset += sent
        return sent >= sum(map(len, batch))


def _settle(room: asyncio.Future[None]) -> None:
    if not room.done():
        room.set_result(None)
