"""A large reply written straight from its pieces with writev.

An enumeration's reply is a list of byte pieces (wire/reply.py), mostly the
kept XML of each instance. Sent as ASGI body messages, each 64 KiB chunk is
joined from its pieces, framed by h11, and copied twice more by asyncio's
socket transport (the unsent tail is sliced, then appended to its buffer);
the event loop wakes once per chunk for flow control. At 1,000 VMs (3.6 MB)
that was most of the loop's time per reply. Here the kernel gathers the
pieces itself (writev, up to IOV_MAX of them a call) and the loop wakes
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
import threading
from array import array
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from cimprovider.wire.reply import Measured

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
    buffered = getattr(transport, "get_write_buffer_size", None)
    return buffered is not None and buffered() == 0


class GatherWriter:
    """Writes pieces to the transport's socket through a duplicate of its
    descriptor, so the loop's own registration of the socket is untouched
    and the descriptor stays this writer's even if the transport closes
    meanwhile (its number could otherwise be reused by another connection).
    `stop()` (connection lost) wakes a writer waiting for room.

    A large reply's writev calls run on a small pool of sender threads,
    each until the socket is full: the kernel's copy of the bytes (most of
    a large reply's cost) releases the interpreter lock, so copies for
    several clients proceed on several cores while the loop reads the next
    requests. A thread never waits for a slow client: when the socket is
    full it returns, and the loop waits for room as before.

    Every system call made on the loop thread gives up the interpreter lock
    and must win it back from busy worker threads, which delays every other
    connection: so the loop makes two here (dup, close) and the response's
    head leaves in the same writev as the body's first bytes."""

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.loop = asyncio.get_running_loop()
        self._room: asyncio.Future[None] | None = None
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True
        if self._room is not None and not self._room.done():
            self._room.set_result(None)

    async def write(self, pieces: Sequence[bytes], measured: Sequence[Measured] = (), head: bytes = b"") -> bool:
        """Send `head`, then every piece (`measured`: stretches whose ends
        are known); False if the connection broke first."""
        fd = os.dup(self.transport.get_extra_info("socket").fileno())
        try:
            return await self._send_all(fd, _Position(pieces, measured, head))
        finally:
            os.close(fd)

    async def _send_all(self, fd: int, position: _Position) -> bool:
        offload = position.total >= OFFLOAD_BYTES
        while not position.done and not self.stopped:
            if offload:
                broken = await self._send_on_thread(fd, position)
            else:
                broken = self._send_until_full(fd, position)
            if broken:
                return False  # reset or broken pipe: the transport learns of it when it reads
            if not position.done and not self.stopped:
                await self._wait_for_room(fd)
        return not self.stopped

    async def _send_on_thread(self, fd: int, position: _Position) -> bool:
        sending = self.loop.run_in_executor(_senders(), self._send_until_full, fd, position)
        try:
            return await asyncio.shield(sending)
        except asyncio.CancelledError:
            # The descriptor is closed when this returns: not while the
            # thread still writes on it (its number could be reused).
            self.stopped = True
            await asyncio.wait([sending])
            raise

    def _send_until_full(self, fd: int, position: _Position) -> bool:
        """writev until every piece is sent or the socket is full; True if
        the connection broke. Runs on a sender thread for large replies.
        (The descriptor is non-blocking: it shares the transport's.)"""
        while not position.done and not self.stopped:
            batch, offered = position.batch()
            try:
                sent = os.writev(fd, batch)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                return True
            if not position.advance(sent, offered):
                return False  # the socket took less than offered: it is full
        return False

    async def _wait_for_room(self, fd: int) -> None:
        room = self._room = self.loop.create_future()
        self.loop.add_writer(fd, _settle, room)
        try:
            await room
        finally:
            self.loop.remove_writer(fd)
            self._room = None


# Replies from this size on are sent from a sender thread; below, the hop
# to a thread costs more than the copy it would move off the loop (the
# copy releases the interpreter lock either way). A pull's page of 100 VMs
# (360 KB) is below: its round trip cost the server 10-30 % less CPU so.
OFFLOAD_BYTES = 1024 * 1024
SENDERS = max(2, min(4, os.cpu_count() or 1))
_pool: list[ThreadPoolExecutor] = []
_pool_lock = threading.Lock()


def _senders() -> ThreadPoolExecutor:
    if not _pool:
        with _pool_lock:
            if not _pool:
                _pool.append(ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="reply-send"))
    return _pool[0]


class _Segment:
    """A stretch of pieces and their cumulative ends: pieces[start + k]
    ends at ends[first + k] - base bytes into the stretch."""

    __slots__ = ("pieces", "start", "count", "ends", "first", "base", "size")

    def __init__(self, pieces: Sequence[bytes], start: int, count: int, ends: Sequence[int], first: int) -> None:
        self.pieces, self.start, self.count, self.ends, self.first = pieces, start, count, ends, first
        self.base = ends[first - 1] if first else 0
        self.size = ends[first + count - 1] - self.base if count else 0


class _Position:
    """How far the sending has come: a segment of the pieces and a byte
    offset into it; the piece the offset falls in is found by bisection
    over the segment's cumulative ends. A kept whole list brings its ends
    (Measured), so a reply of thousands of pieces is not measured piece by
    piece per reply nor per call; only the pieces around it are."""

    __slots__ = ("pieces", "segments", "total", "index", "offset")

    def __init__(self, pieces: Sequence[bytes], measured: Sequence[Measured] = (), head: bytes = b"") -> None:
        self.pieces = pieces
        self.segments: list[_Segment] = [_Segment((head,), 0, 1, (len(head),), 0)]
        at = 0
        for known in measured:
            self._measure(at, known.start)
            self.segments.append(_Segment(pieces, known.start, known.count, known.ends, known.first))
            at = known.start + known.count
        self._measure(at, len(pieces))
        self.segments = [segment for segment in self.segments if segment.size]
        self.total = sum(segment.size for segment in self.segments)
        self.index = 0
        self.offset = 0

    def _measure(self, start: int, stop: int) -> None:
        if stop > start:
            ends = array("q", itertools.accumulate(map(len, self.pieces[start:stop])))
            self.segments.append(_Segment(self.pieces, start, stop - start, ends, 0))

    @property
    def done(self) -> bool:
        return self.index >= len(self.segments)

    def batch(self) -> tuple[list[bytes | memoryview], int]:
        """The next pieces to offer (up to IOV_MAX, across segments, so the
        head leaves with the body's first bytes), the first cut where the
        last call stopped, and their length in bytes."""
        batch: list[bytes | memoryview] = []
        offered, index, offset = 0, self.index, self.offset
        while index < len(self.segments) and len(batch) < IOV_MAX:
            segment = self.segments[index]
            pieces, size, whole = _stretch(segment, offset, IOV_MAX - len(batch))
            batch += pieces
            offered += size
            if not whole:
                break
            index, offset = index + 1, 0
        return batch, offered

    def advance(self, sent: int, offered: int) -> bool:
        """Count `sent` bytes as gone; True if the whole batch went (the
        socket may take more at once)."""
        self.offset += sent
        while self.index < len(self.segments) and self.offset >= self.segments[self.index].size:
            self.offset -= self.segments[self.index].size
            self.index += 1
        return sent >= offered


def _stretch(segment: _Segment, offset: int, room: int) -> tuple[list[bytes | memoryview], int, bool]:
    """Up to `room` pieces of a segment from `offset` bytes into it (the
    first cut where that falls inside a piece), their length, and whether
    they reach the segment's end."""
    at = segment.base + offset
    k = bisect.bisect_right(segment.ends, at, segment.first, segment.first + segment.count) - segment.first
    stop = min(k + room, segment.count)
    pieces: list[bytes | memoryview] = list(segment.pieces[segment.start + k : segment.start + stop])
    piece_start = segment.ends[segment.first + k - 1] if k else segment.base
    if at > piece_start:
        pieces[0] = memoryview(pieces[0])[at - piece_start :]
    return pieces, segment.ends[segment.first + stop - 1] - at, stop == segment.count


def _settle(room: asyncio.Future[None]) -> None:
    if not room.done():
        room.set_result(None)
