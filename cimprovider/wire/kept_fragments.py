"""One reply shape's kept entries, stored compactly.

Instances of one class in one reply shape are mostly the same bytes: of a
VM's 3.6 KB only its name, its ElementName and its path differ from the
next VM's. An entry is cut before each property and key binding; a
fragment already seen in this shape is replaced by the one bytes object
kept for it, and each run of such shared fragments by one shared bytes
object for the whole run. What is left per entry is a short tuple of
pieces: shared runs and the entry's own bytes between them.

What is learnt per shape is bounded (MAX_FRAGMENTS, MAX_RUNS): past it new
entries share only what is known already, so a shape whose entries are all
different costs no more than it did stored whole.
"""

from __future__ import annotations

import re

MAX_FRAGMENTS = 256
MAX_RUNS = 256

# Zero-width cut before every property and key binding (the places where
# one instance's values start to differ from another's).
_CUT = re.compile(rb"(?=<PROPERTY|<KEYBINDING)")

Pieces = tuple[bytes, ...]


class Fragments:
    """What one reply shape has learnt: fragment -> the one bytes object
    kept for it, and shared run -> the one bytes object for the run."""

    __slots__ = ("_known", "_runs")

    def __init__(self) -> None:
        self._known: dict[bytes, bytes] = {}
        self._runs: dict[bytes, bytes] = {}

    def compact(self, data: bytes) -> bytes | Pieces:
        """`data` as shared runs and its own bytes, in order; `data` itself
        when nothing in it is shared."""
        known = self._known
        pieces: list[bytes] = []
        shared: list[bytes] = []
        own: list[bytes] = []
        for part in _CUT.split(data):
            found = known.get(part)
            if found is not None:
                if own:
                    pieces.append(b"".join(own))
                    own.clear()
                shared.append(found)
                continue
            if shared:
                pieces.append(self._run(shared))
                shared.clear()
            own.append(part)
            if len(known) < MAX_FRAGMENTS:
                known[part] = part
        if shared:
            pieces.append(self._run(shared))
        if own:
            pieces.append(b"".join(own))
        return pieces[0] if len(pieces) == 1 else tuple(pieces)

    def _run(self, shared: list[bytes]) -> bytes:
        if len(shared) == 1:
            return shared[0]
        run = b"".join(shared)
        found = self._runs.get(run)
        if found is not None:
            return found
        if len(self._runs) < MAX_RUNS:
            self._runs[run] = run
        return run


def size(stored: bytes | Pieces) -> int:
    """The bytes a stored entry stands for."""
    return len(stored) if type(stored) is bytes else sum(map(len, stored))
