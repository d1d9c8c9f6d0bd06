"""Text tables that fit a terminal: columns are shortened (long values lose
their middle, where paths and IDs differ least) and, if that is not enough,
the last columns are left out — the command's column order is its order of
importance. `--wide` (no width) prints every column whole."""

from __future__ import annotations

from collections.abc import Sequence

GAP = 2
SHORTEST = 8  # a shortened column still shows this many characters
LONG = 20  # long values are shortened to this before any column is left out


def shorten(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = (width - 1 + 1) // 2
    tail = width - 1 - head
    return text[:head] + "…" + (text[-tail:] if tail else "")


def _widths(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[int]:
    return [max([len(h)] + [len(row[i]) for row in body]) for i, h in enumerate(header)]


def _total(widths: Sequence[int]) -> int:
    return sum(widths) + GAP * (len(widths) - 1)


def _shrink(widths: list[int], floors: Sequence[int], excess: int) -> int:
    """Take up to `excess` characters, always from the widest column that
    is above its floor; returns what is still to take."""
    while excess > 0:
        widest = max(range(len(widths)), key=lambda i: widths[i] - floors[i])
        if widths[widest] <= floors[widest]:
            break
        widths[widest] -= 1
        excess -= 1
    return excess


def _fit(widths: list[int], header: Sequence[str], limit: int) -> tuple[list[int], int]:
    """Column widths and how many columns to keep, within `limit`: long
    columns (free text, paths, IDs) are shortened to LONG first; then the
    least important columns go; the last one left is shortened to fit."""
    widths = list(widths)
    long_floor = [min(w, max(LONG, len(h))) for w, h in zip(widths, header)]
    _shrink(widths, long_floor, _total(widths) - limit)
    keep = len(widths)
    while keep > 1 and _total(widths[:keep]) > limit:
        keep -= 1
    floors = [min(w, max(SHORTEST, len(h))) for w, h in zip(widths[:keep], header)]
    kept = widths[:keep]
    _shrink(kept, floors, _total(kept) - limit)
    return kept + widths[keep:], keep


def text_table(columns: Sequence[str], body: Sequence[Sequence[str]], width: int | None) -> str:
    """The header (column names in capitals, `_seconds` left off since cells
    show durations) and the rows; fitted to `width` unless it is None."""
    header = [c.removesuffix("_seconds").upper().replace("_", " ") for c in columns]
    widths = _widths(header, body)
    keep = len(header)
    if width is not None:
        widths, keep = _fit(widths, header, width)
    lines = [header[:keep]] + [list(row[:keep]) for row in body]
    return "\n".join("  ".join(shorten(v, w).ljust(w) for v, w in zip(line, widths)).rstrip()
                     for line in lines)
