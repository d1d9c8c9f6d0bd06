"""A reply as a list of byte pieces, sent in chunks.

Large replies are mostly kept instance XML (wire/kept.py): the pieces are
those very bytes objects, shared with the store, so a 36 MB enumeration is
never copied into one 36 MB string; it leaves in chunks of about
CHUNK_SIZE bytes, each joined just before it is sent and let go after."""

from __future__ import annotations

from array import array
from collections.abc import Iterator

CHUNK_SIZE = 64 * 1024
# Text written since the last piece is encoded once it holds this many
# fragments, so a reply of fresh instances never sits in memory both as
# str fragments and as one bytes copy of all of them.
_TEXT_FLUSH = 2048


class ReplyBody:
    """Collects a reply: `write` for text (the encoder's output), `add` for
    bytes already encoded (kept pieces). Writers of many instances call
    `settle` after each, so text is encoded as it grows."""

    __slots__ = ("pieces", "_text", "size", "write", "measured")

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.measured: list[Measured] = []
        self._text: list[str] = []
        self.size = 0
        self.write = self._text.append

    def settle(self) -> None:
        if len(self._text) >= _TEXT_FLUSH:
            self.flush()

    def add(self, piece: bytes | memoryview) -> None:
        if self._text:
            self.flush()
        self.pieces.append(piece)
        self.size += len(piece)

    def add_all(self, pieces: tuple[bytes, ...]) -> None:
        """Several encoded pieces in order (a kept entry stored in parts)."""
        if self._text:
            self.flush()
        self.pieces.extend(pieces)
        self.size += sum(map(len, pieces))

    def extend(self, pieces: list[bytes], size: int, ends: array[int] | None = None, first: int = 0) -> None:
        """Add many pieces at once; `size` is their length in bytes. `ends`,
        if given, holds the pieces' cumulative ends from index `first` on
        (a kept whole list's), so a writer need not measure them again."""
        if self._text:
            self.flush()
        if ends is not None and pieces:
            self.measured.append(Measured(len(self.pieces), len(pieces), ends, first))
        self.pieces.extend(pieces)
        self.size += size

    def flush(self) -> None:
        piece = "".join(self._text).encode("utf-8")
        self._text.clear()
        self.pieces.append(piece)
        self.size += len(piece)

    def finish(self) -> "Reply":
        if self._text:
            self.flush()
        return Reply(self.pieces, self.size, self.measured)


class Measured:
    """A stretch of a reply's pieces whose cumulative ends are known:
    pieces[start + k] ends at ends[first + k] (minus the ends before
    `first`), so a writer that sends them finds its place by bisection."""

    __slots__ = ("start", "count", "ends", "first")

    def __init__(self, start: int, count: int, ends: array[int], first: int) -> None:
        self.start = start
        self.count = count
        self.ends = ends
        self.first = first


class Reply:
    """The bytes of a reply, in pieces; `len()` is its Content-Length."""

    __slots__ = ("_pieces", "_size", "measured")

    def __init__(self, pieces: list[bytes], size: int, measured: list[Measured] | None = None) -> None:
        self._pieces = pieces
        self._size = size
        self.measured = measured or []

    def __len__(self) -> int:
        return self._size

    @property
    def pieces(self) -> list[bytes]:
        """The pieces themselves, for a writer that gathers them (writev)."""
        return self._pieces

    def __bytes__(self) -> bytes:
        return b"".join(self._pieces)

    def chunks(self, size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The reply in chunks of about `size` bytes: small pieces grouped,
        a piece of twice that or more (a joined whole list) cut in slices."""
        group: list[bytes] = []
        grouped = 0
        for piece in self._pieces:
            if len(piece) >= 2 * size:  # a joined list: sent in slices, never whole
                if group:
                    yield b"".join(group)
                    group, grouped = [], 0
                view = memoryview(piece)
                for start in range(0, len(view), size):
                    yield bytes(view[start : start + size])
                continue
            group.append(piece)
            grouped += len(piece)
            if grouped >= size:
                yield group[0] if len(group) == 1 and type(group[0]) is bytes else b"".join(group)
                group, grouped = [], 0
        if group:
            yield group[0] if len(group) == 1 and type(group[0]) is bytes else b"".join(group)
