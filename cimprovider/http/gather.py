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
import os
import socket
from collections.abc import Sequence

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
    `stop()` (connection lost) wakes a writer waiting for room."""

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
        index, offset = 0, 0
        while index < len(pieces) and not self.stopped:
            batch: list[bytes | memoryview] = list(pieces[index : index + IOV_MAX])
            if offset:
                batch[0] = memoryview(batch[0])[offset:]
            try:
                sent = sock.sendmsg(batch)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                return False  # reset or broken pipe: the transport learns of it when it reads
            if self.corked:
                self.corked = False
                cork(self.transport, False)  # the head and the first bytes leave now
            index, offset, full = _advance(pieces, index, offset, sent, len(batch))
            if index < len(pieces) and not full:
                await self._wait_for_room(sock)
        return not self.stopped

    async def _wait_for_room(self, sock: socket.socket) -> None:
        room = self._room = self.loop.create_future()
        self.loop.add_writer(sock.fileno(), _settle, room)
        try:
            await room
        finally:
            self.loop.remove_writer(sock.fileno())
            self._room = None


def _settle(room: asyncio.Future[None]) -> None:
    if not room.done():
        room.set_result(None)


def _advance(pieces: Sequence[bytes], index: int, offset: int, sent: int, count: int) -> tuple[int, int, bool]:
    """Move (index, offset) on by `sent` bytes; `full` is True when the
    whole batch of `count` pieces went (the socket may take more at once)."""
    last = index + count
    while sent and index < last:
        left = len(pieces[index]) - offset
        if sent < left:
            return index, offset + sent, False
        sent -= left
        index, offset = index + 1, 0
    return index, offset, index == last
