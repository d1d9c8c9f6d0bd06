"""One reply shape's kept entries, stored compactly.

Instances of one class in one reply shape are mostly the same bytes: of a
VM's 3.6 KB only its name, its ElementName and its path differ from the
next VM's, and of a resource setting's 2.6 KB only its InstanceID (twice:
in its path and as a property). An entry is cut around every value and
before each property and key binding; a fragment already seen in this
shape is replaced by the one bytes object kept for it, and each run of such
shared fragments by one shared bytes object for the whole run. What is
left per entry is a short tuple of pieces: shared runs and the entry's own
values between them, a value that comes twice held once.

`held` says what an entry costs in memory beyond what its shape shares,
and `learnt` what the shape's shared fragments cost: the store's budget
counts both.

What is learnt per shape is bounded (MAX_FRAGMENTS, MAX_RUNS): past it new
entries share only what is known already, so a shape whose entries are all
different costs no more than it did stored whole.
"""

from __future__ import annotations

import re

MAX_FRAGMENTS = 256
MAX_RUNS = 256

# Zero-width cuts around values (where one instance's bytes differ from
# another's): before every property, key binding and value end, after
# every value start and every start tag with attributes.
_CUT = re.compile(rb'(?=<PROPERTY|<KEYBINDING|</VALUE>|</KEYVALUE>)|(?<=<VALUE>)|(?<=">)')
# What CPython spends on a bytes object besides its bytes, on a tuple
# besides its items, and on one item of a tuple or list.
OBJECT_BYTES = 33
TUPLE_BYTES = 40
POINTER_BYTES = 8

Pieces = tuple[bytes, ...]


class Fragments:
    """What one reply shape has learnt: fragment -> the one bytes object
    kept for it, and shared run -> the one bytes object for the run."""

    __slots__ = ("_known", "_runs", "learnt", "_fresh")

    def __init__(self) -> None:
        self._known: dict[bytes, bytes] = {}
        self._runs: dict[bytes, bytes] = {}
        self.learnt = 0  # memory of the shared fragments and runs
        self._fresh: list[tuple[dict[bytes, bytes], bytes]] = []  # learnt by the last compact

    def unlearn(self) -> None:
        """Forget what the last `compact` learnt: its entry is not kept."""
        for table, learnt in self._fresh:
            del table[learnt]
            self.learnt -= len(learnt) + OBJECT_BYTES
        self._fresh.clear()

    def compact(self, data: bytes) -> bytes | Pieces:
        """`data` as shared runs and its own bytes, in order; `data` itself
        when nothing in it is shared."""
        known = self._known
        pieces: list[bytes] = []
        shared: list[bytes] = []
        own: list[bytes] = []
        mine: dict[bytes, bytes] = {}  # own bytes that come twice are held once
        self._fresh.clear()
        for part in _CUT.split(data):
            if not part:
                continue
            found = known.get(part)
            if found is not None and (not self._fresh or not _learnt_now(self._fresh, part)):
                if own:
                    pieces.append(_once(b"".join(own), mine))
                    own.clear()
                shared.append(found)
                continue
            if shared:
                pieces.append(self._run(shared))
                shared.clear()
            own.append(part)
            if found is None and len(known) < MAX_FRAGMENTS:
                known[part] = part
                self._learn(known, part)
        if shared:
            pieces.append(self._run(shared))
        if own:
            pieces.append(_once(b"".join(own), mine))
        if len(pieces) == 1:
            return pieces[0]
        return tuple(pieces) if pieces else data

    def held(self, stored: bytes | Pieces) -> int:
        """The memory `stored` takes beyond what the shape shares."""
        if type(stored) is bytes:
            return 0 if self._shares(stored) else len(stored) + OBJECT_BYTES
        own = {id(piece): len(piece) for piece in stored if not self._shares(piece)}
        return TUPLE_BYTES + POINTER_BYTES * len(stored) + sum(own.values()) + OBJECT_BYTES * len(own)

    def _shares(self, piece: bytes) -> bool:
        return self._known.get(piece) is piece or self._runs.get(piece) is piece

    def _run(self, shared: list[bytes]) -> bytes:
        if len(shared) == 1:
            return shared[0]
        run = b"".join(shared)
        found = self._runs.get(run)
        if found is not None:
            return found
        if len(self._runs) < MAX_RUNS:
            self._runs[run] = run
            self._learn(self._runs, run)
        return run

    def _learn(self, table: dict[bytes, bytes], learnt: bytes) -> None:
        self.learnt += len(learnt) + OBJECT_BYTES
        self._fresh.append((table, learnt))


def _learnt_now(fresh: list[tuple[dict[bytes, bytes], bytes]], part: bytes) -> bool:
    """Whether `part` was learnt from the entry being cut: its value comes
    twice in it (a VM's name in its path and its Name), which says nothing
    of what other entries share."""
    return any(learnt is part or learnt == part for _, learnt in fresh)


def _once(piece: bytes, mine: dict[bytes, bytes]) -> bytes:
    return mine.setdefault(piece, piece)


def size(stored: bytes | Pieces) -> int:
    """The bytes a stored entry stands for."""
    return len(stored) if type(stored) is bytes else sum(map(len, stored))
