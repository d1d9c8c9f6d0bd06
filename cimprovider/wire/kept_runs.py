"""Whole enumerations answered from one kept list of pieces.

An enumeration of a kept class is a KeptRun: its members (owner, key) in
order. Once every member's entry is kept, the store also keeps the run's
whole list of pieces for its shape (the entries' own bytes objects, no
copy), so the next reply with the same members is one list extension
rather than a lookup and a write per member. A pull enumeration cuts the
run into slices (KeptRun.split) and answers each slice from the same
list: member i's pieces start at Run.starts[i].

Any change forgets every whole list (store.forget); a reply then goes
member by member, as without whole lists, keeping their entries, and the
next reply that finds every entry kept keeps a new list before it writes.
Members whose entries have holes (values that move without notice) stay
places in the list, filled afresh from the current reply's source every
time.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable
from itertools import accumulate

from cimprovider.wire.kept import FormWriter, Holed, KeptXml, Run, write_kept
from cimprovider.wire.messages import KeptInstance, KeptRun
from cimprovider.wire.reply import ReplyBody

_NONE: dict = {}


def write_run(run: KeptRun, shape: Hashable, store: KeptXml | None, form: FormWriter, out: ReplyBody) -> None:
    """Write the members of `run` (a whole enumeration or a slice of one):
    from the store's whole list for `shape` when it holds the same members
    (kept first, at the enumeration's start, if every member's entry is
    kept), else member by member."""
    if store is None:
        for item in run.members():
            write_kept(item, shape, None, None, form, out)
        return
    whole = _whole_list(run, shape, store)
    if whole is None and run.start == 0:
        # Made before anything of the reply: the list, long-lived, is not
        # placed among the reply's short-lived objects, where it would keep
        # the heap from shrinking once they are freed.
        whole = _keep_whole_list(run, shape, store)
    if whole is not None:
        _write_slice(whole, run, shape, store, form, out)
        return
    owners = store.owners(shape)
    for item in run.members():
        write_kept(item, shape, owners, store, form, out)
        if owners is None:
            owners = store.owners(shape)


def _whole_list(run: KeptRun, shape: Hashable, store: KeptXml) -> Run | None:
    """The store's whole list for `shape` if it holds `run`'s members."""
    kept = store.run(shape)
    if kept is None:
        return None
    if kept is run.state.found:  # an earlier slice of this enumeration compared them
        return kept
    if kept.owners == run.owners and kept.keys == run.keys:
        run.state.found = kept
        return kept
    return None


def _write_slice(whole: Run, run: KeptRun, shape: Hashable, store: KeptXml, form: FormWriter, out: ReplyBody) -> None:
    first, last = whole.starts[run.start], whole.starts[run.end]
    if whole.holed:
        owners = store.owners(shape)
        for index in range(first, last):
            piece = whole.pieces[index]
            if type(piece) is bytes:
                out.add(piece)
                continue
            # A member with holes: its values of now, through this reply's source.
            item = KeptInstance(shape, piece.owner, piece.key, run.source)  # type: ignore[union-attr]
            write_kept(item, shape, owners, store, form, out)
    elif whole.joined is not None:
        if first == 0 and last == len(whole.pieces):
            out.add(whole.joined)
        else:
            start, end = whole.offsets[run.start], whole.offsets[run.end]
            out.add(memoryview(whole.joined)[start:end])  # type: ignore[arg-type]
    elif first == 0 and last == len(whole.pieces):
        out.extend(whole.pieces, whole.size, whole.ends)  # type: ignore[arg-type]
    else:
        size = whole.offsets[run.end] - whole.offsets[run.start]
        out.extend(whole.pieces[first:last], size, whole.ends, first)  # type: ignore[arg-type]


def _keep_whole_list(run: KeptRun, shape: Hashable, store: KeptXml) -> Run | None:
    """Gather every member's kept pieces into one list and keep it; None
    when a member has no entry (not kept yet, gone, or over the budget)."""
    token = store.runs_token()  # any forget from here on refuses the list
    owners = store.owners(shape)
    if owners is None:
        return None
    pieces: list[bytes | KeptInstance] = []
    starts, offsets = array("q"), array("q")
    holed = False
    size = 0
    for owner, key in zip(run.owners, run.keys):
        starts.append(len(pieces))
        offsets.append(size)
        entry = owners.get(owner, _NONE).get(key)
        if type(entry) is bytes:
            pieces.append(entry)
            size += len(entry)
        elif type(entry) is tuple:  # stored as shared pieces
            pieces.extend(entry)
            size += sum(map(len, entry))
        elif type(entry) is Holed:
            pieces.append(KeptInstance(shape, owner, key, run.source))
            holed = True
        else:
            return None
    starts.append(len(pieces))
    offsets.append(size)
    ends = joined = None
    # Joined only while the copy leaves the budget room for entries: they
    # answer every reply the lists cannot.
    if not holed and size <= min(store.join_bytes, store.room() // 4):
        joined = b"".join(pieces)  # type: ignore[arg-type]
    elif not holed:
        ends = array("q", accumulate(map(len, pieces)))  # type: ignore[arg-type]
    whole = Run(run.owners, run.keys, pieces, starts, offsets, size, holed, ends, joined)
    if not store.put_run(shape, whole, token):
        return None
    run.state.found = whole
    return whole
