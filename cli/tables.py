"""Text tables that fit a terminal: columns are shortened (long values lose
their middle, where paths and IDs differ least) and, if that is not enough,
the last columns are left out — the command's column order is its order of
importance. `--wide` (no width) prints every column whole."""

from __future__ import annotations

from collections.abc import Sequence

GAP = 2
SHORTEST = 8  # a shortened column still shows this many characters


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


def _fit(widths: list[int], header: Sequence[str], limit: int) -> tuple[list[int], int]:
    """Column widths and how many columns to keep, within `limit`."""
    keep = len(widths)
    widths = list(widths)
    while keep:
        total = sum(widths[:keep]) + GAP * (keep - 1)
        if total <= limit:
            return widths, keep
        floor = [max(SHORTEST, min(len(header[i]), widths[i])) for i in range(keep)]
        room = [widths[i] - floor[i] for i in range(keep)]
        if sum(room) >= total - limit:
            excess = total - limit
            while excess > 0:  # take from the widest first
                widest = max(range(keep), key=lambda i: widths[i] - floor[i])
                widths[widest] -= 1
                excess -= 1
            return widths, keep
        keep -= 1
    return widths, 1


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
