"""Kept instance XML: the encoder's output for an instance, kept as bytes
per reply shape and reused until a change forgets its owner.

The store never expires anything by time: the server forgets an owner (a
VM) when the event bus says it changed, and forgets everything on a change
it cannot pin to one owner. A reply built while a change happens is not
kept: `token` is taken before building and `put` refuses an entry whose
owner was forgotten since. Memory is bounded by a byte budget; past it the
least recently used reply shape is dropped whole.

Properties that move without any event (a running VM's uptime) are holes
in the kept bytes, filled with the current value on each reply.
"""

from __future__ import annotations

import itertools
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from pywbem import CIMInstance

from cimprovider.wire import encode, kept_fragments
from cimprovider.wire.encode import Write, present_qualifiers
from cimprovider.wire.kept_fragments import POINTER_BYTES, Fragments, Pieces
from cimprovider.wire.messages import KeptInstance
from cimprovider.wire.reply import ReplyBody

DEFAULT_BUDGET = 64 * 1024 * 1024
# A whole list of up to this many bytes is also kept joined (Run.joined),
# its copy counted in the budget: sending 7,000 pieces costs the writer
# and the kernel some 30 ns each, and a larger list would cost its size in
# memory again.
JOIN_BYTES = 8 * 1024 * 1024
HOLED_BYTES = 200  # a Holed entry's own objects: itself, its tuples, its holes
RUN_BYTES = 200  # a whole list's own objects besides its arrays
MAX_SHAPES = 256  # property lists come from clients: bound their variety
_MAX_OWNERS_REMEMBERED = 200_000

# Writes one instance in a reply form (VALUE.NAMEDINSTANCE…), with holes.
FormWriter = Callable[[CIMInstance, Write, frozenset[str], encode.Cut | None], None]


@dataclass(frozen=True, slots=True)
class Holed:
    """Kept bytes with holes: segments[0], hole 0, segments[1], … where a
    hole is (property name, the property's encode.property_key). Stored, a
    segment may be pieces (kept_fragments.py)."""

    segments: tuple[bytes | Pieces, ...]
    holes: tuple[tuple[str, tuple], ...]

    @property
    def size(self) -> int:
        return sum(map(kept_fragments.size, self.segments))


# As built: bytes or Holed; as stored, bytes may be pieces shared with the
# shape's other entries (kept_fragments.py).
Entry = bytes | Pieces | Holed


@dataclass(frozen=True, slots=True)
class Run:
    """A KeptRun's reply pieces, valid while its members are the same:
    member i's pieces are pieces[starts[i]:starts[i + 1]]."""

    owners: list[Hashable]
    keys: list[Hashable]
    pieces: list[bytes | KeptInstance]  # a KeptInstance: a member with holes
    starts: array[int]
    offsets: array[int]  # bytes before member i (without holes: a slice's size is a difference)
    size: int
    holed: bool
    # Each piece's cumulative end, for a writer that gathers them (None with holes).
    ends: array[int] | None = None
    # The pieces as one bytes object, for a list small enough (JOIN_BYTES):
    # a reply or a pull's slice is then one piece for the writer, not thousands.
    joined: bytes | None = None


class KeptXml:
    """The store: reply shape -> owner -> key -> Entry."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self.join_bytes = JOIN_BYTES
        self.size = 0
        self._shapes: OrderedDict[Hashable, dict[Hashable, dict[Hashable, Entry]]] = OrderedDict()
        self._shape_sizes: dict[Hashable, int] = {}
        self._fragments: dict[Hashable, Fragments] = {}
        self._changed: dict[Hashable, int] = {}
        self._epoch = 0
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        # Whole stretches of an enumeration (KeptRun): shape -> the members
        # it was built from and their pieces, the same bytes objects as
        # the entries (no copy). Any forget drops them all: a run spans
        # every owner of its class.
        self._runs: dict[Hashable, Run] = {}
        self._runs_generation = 0

    def owners(self, shape: Hashable) -> dict[Hashable, dict[Hashable, Entry]] | None:
        """The entries of one reply shape (marking it recently used)."""
        with self._lock:  # forget() walks the shapes: no reordering meanwhile
            found = self._shapes.get(shape)
            if found is not None:
                self._shapes.move_to_end(shape)
            return found

    def token(self, owner: Hashable) -> tuple[int, int]:
        return self._epoch, self._changed.get(owner, 0)

    def put(self, shape: Hashable, owner: Hashable, key: Hashable, entry: Entry, token: tuple[int, int]) -> None:
        with self._lock:
            if token != (self._epoch, self._changed.get(owner, 0)):
                return  # the owner changed while this was built
            owners = self._shapes.get(shape)
            if owners is None:
                if len(self._shapes) >= MAX_SHAPES:
                    self._drop(next(iter(self._shapes)))
                owners = self._shapes[shape] = {}
                self._shape_sizes[shape] = 0
                self._fragments[shape] = Fragments()
            fragments = self._fragments[shape]
            learnt = fragments.learnt
            stored = _compacted(entry, fragments)
            # What the shape learnt from the entry is counted with it.
            size = _held(stored, fragments) + fragments.learnt - learnt
            while self.size + size > self.budget:
                victim = next((other for other in self._shapes if other != shape), None)
                if victim is None:
                    break
                self._drop(victim)
            if self.size + size > self.budget:
                fragments.unlearn()
                return  # this shape alone fills the budget: the rest is built every time
            kept = owners.setdefault(owner, {})
            previous = kept.get(key)
            kept[key] = stored
            self._grow(shape, size - (0 if previous is None else _held(previous, fragments)))

    def _grow(self, shape: Hashable, grown: int) -> None:
        self.size += grown
        self._shape_sizes[shape] += grown

    def run(self, shape: Hashable) -> Run | None:
        return self._runs.get(shape)

    def whole_lists(self) -> int:
        """How many whole enumeration stretches are kept."""
        return len(self._runs)

    def runs_token(self) -> int:
        return self._runs_generation

    def room(self) -> int:
        """How many bytes the budget has left (a hint: read unlocked)."""
        return self.budget - self.size

    def put_run(self, shape: Hashable, run: Run, token: int) -> bool:
        """Keep `run` for `shape`; False when it is stale already."""
        with self._lock:
            if token != self._runs_generation or shape not in self._shapes:
                return False  # something changed while it was built, or the shape was dropped
            if len(self._runs) >= MAX_SHAPES:
                self._clear_runs()
            previous = self._runs.pop(shape, None)
            if previous is not None:
                self.size -= _run_held(previous)
            size = _run_held(run)
            if self.size + size > self.budget:
                return False  # the budget is for entries first: they are answered one by one
            self._runs[shape] = run
            self.size += size
            return True

    def forget(self, owner: Hashable) -> None:
        """Drop everything kept for `owner`: it changed."""
        with self._lock:
            self._drop_runs()
            self._changed[owner] = next(self._counter)
            if len(self._changed) > _MAX_OWNERS_REMEMBERED:
                self._forget_all_locked()
                return
            for shape, owners in self._shapes.items():
                dropped = owners.pop(owner, None)
                if dropped:
                    fragments = self._fragments[shape]
                    self._grow(shape, -sum(_held(stored, fragments) for stored in dropped.values()))

    def forget_all(self) -> None:
        """Drop everything: a change no single owner stands for."""
        with self._lock:
            self._forget_all_locked()

    def kept_for(self, owner: Hashable) -> int:
        """How many entries are kept for `owner`, over every shape."""
        return sum(len(owners.get(owner, ())) for owners in list(self._shapes.values()))

    def _drop_runs(self) -> None:
        self._runs_generation += 1
        self._clear_runs()

    def _clear_runs(self) -> None:
        self.size -= sum(map(_run_held, self._runs.values()))
        self._runs = {}

    def _forget_all_locked(self) -> None:
        self._drop_runs()
        self._epoch += 1
        self._changed.clear()
        self._shapes.clear()
        self._shape_sizes.clear()
        self._fragments.clear()
        self.size = 0

    def _drop(self, shape: Hashable) -> None:
        run = self._runs.pop(shape, None)
        if run is not None:
            self.size -= _run_held(run)
        del self._shapes[shape]
        del self._fragments[shape]
        self.size -= self._shape_sizes.pop(shape)


def _run_held(run: Run) -> int:
    """A whole list's memory: its pointers to the entries' pieces, their
    ends, and its joined copy."""
    arrays = run.starts.itemsize * (len(run.starts) + len(run.offsets) + len(run.ends or ()))
    return RUN_BYTES + POINTER_BYTES * len(run.pieces) + arrays + len(run.joined or b"")


def _held(stored: Entry, fragments: Fragments) -> int:
    """The memory a stored entry takes beyond what its shape shares."""
    if type(stored) is not Holed:
        return fragments.held(stored)
    return HOLED_BYTES + sum(fragments.held(segment) for segment in stored.segments)


def _compacted(entry: Entry, fragments: Fragments) -> Entry:
    """The entry as stored: its bytes shared with the shape's others."""
    if type(entry) is Holed:
        return Holed(tuple(fragments.compact(s) if type(s) is bytes else s for s in entry.segments), entry.holes)
    return fragments.compact(entry) if type(entry) is bytes else entry


def write_kept(
    item: KeptInstance, shape: Hashable, owners: Any, store: KeptXml | None, form: FormWriter, out: ReplyBody
) -> None:
    """Write `item` in `form` into `out`: its kept bytes when `owners`
    (the store's entries for `shape`) has them, else built, encoded and
    kept."""
    if owners is not None:
        entry = owners.get(item.owner, {}).get(item.key)
        if entry is not None and _add_entry(entry, item, out):
            return
    token = store.token(item.owner) if store is not None else (0, 0)
    instance = item.source.build(item.owner, item.key)
    if instance is None:
        return  # it vanished since the enumeration listed it
    live = item.source.live(item.owner)
    entry, values = _encode(instance, frozenset(live), form)
    if store is not None and entry is not None:
        store.put(shape, item.owner, item.key, entry, token)
    if entry is None:  # a hole with qualifiers: write it whole, keep nothing
        form(instance, out.write, frozenset(), None)
    else:
        _fill(entry, values, out)


def _encode(instance: CIMInstance, live: frozenset[str], form: FormWriter) -> tuple[Entry | None, dict[str, Any]]:
    """The instance's bytes, cut at its live properties, and their values."""
    text: list[str] = []
    segments: list[bytes] = []
    holes: list[tuple[str, tuple]] = []
    values: dict[str, Any] = {}
    keepable = True

    def cut(prop: Any) -> None:
        nonlocal keepable
        keepable = keepable and not present_qualifiers(prop)
        segments.append("".join(text).encode("utf-8"))
        text.clear()
        holes.append((prop.name, encode.property_key(prop)))
        values[prop.name] = prop.value

    form(instance, text.append, live, cut if live else None)
    last = "".join(text).encode("utf-8")
    if not keepable:
        return None, values
    if not holes:
        return last, values
    return Holed(tuple(segments) + (last,), tuple(holes)), values


def _add_entry(entry: Entry, item: KeptInstance, out: ReplyBody) -> bool:
    """Write a kept entry; False when its holes no longer match what
    moves (then the caller builds afresh)."""
    if type(entry) is not Holed:
        _add_stored(entry, out)
        return True
    values = item.source.live(item.owner)
    if any(name not in values for name, _ in entry.holes):
        return False
    _fill(entry, values, out)
    return True


def _fill(entry: Entry, values: dict[str, Any], out: ReplyBody) -> None:
    if type(entry) is not Holed:
        _add_stored(entry, out)
        return
    for segment, (name, key) in zip(entry.segments, entry.holes):
        _add_stored(segment, out)
        text: list[str] = []
        encode.write_property_value(key, values[name], text.append)
        out.add("".join(text).encode("utf-8"))
    _add_stored(entry.segments[-1], out)


def _add_stored(stored: bytes | Pieces, out: ReplyBody) -> None:
    if type(stored) is bytes:
        out.add(stored)
    else:
        out.add_all(stored)
