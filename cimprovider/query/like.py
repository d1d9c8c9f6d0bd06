"""LIKE patterns of both languages, matched in O(len(text) * len(pattern)).

WQL (MS-WMI): `%` any run of characters, `_` any one character, `[abc]`,
`[a-f]`, `[^a-f]` one character of (not of) a set; a literal `%`, `_` or `[`
is written `[%]`, `[_]`, `[[]`. There is no backslash escape in a WQL
pattern, which is why os-win's `'%\\Default'` means a literal backslash.

DMTF:CQL (DSP0202's regular-expression LIKE): `.` any one character, `*`
zero or more of the preceding element, `[...]` sets as above, and `\\`
makes the next character literal. SQL's `%` and `_` are ordinary characters
in CQL, as DSP0202 defines them.

A `[` without its `]` is taken literally rather than rejected: scripts build
patterns from names, and an odd name should not turn into a query error.

Patterns compile into a list of elements matched by a set-of-positions
simulation, so hostile patterns (`%a%a%a%a%b`) cannot backtrack
exponentially.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal as TypingLiteral

LikeDialect = TypingLiteral["WQL", "DMTF:CQL"]


@dataclass(frozen=True)
class _Element:
    kind: TypingLiteral["char", "any", "set"]
    chars: str = ""
    ranges: tuple[tuple[str, str], ...] = ()
    negated: bool = False
    repeat: bool = False  # zero or more of this element

    def accepts(self, ch: str, fold: bool) -> bool:
        if self.kind == "any":
            return True
        candidates = (ch, ch.lower(), ch.upper()) if fold else (ch,)
        if self.kind == "char":
            return any(c == self.chars or (fold and c == self.chars.lower())
                       for c in candidates)
        inside = any(c in self.chars or any(lo <= c <= hi for lo, hi in self.ranges)
                     for c in candidates)
        return inside != self.negated


@dataclass(frozen=True)
class LikePattern:
    """A compiled pattern; `fold` makes it case-insensitive."""

    elements: tuple[_Element, ...]
    fold: bool
    # Set by compile_like for the common shapes ('text', 'prefix%') so that
    # they are a string comparison rather than a simulation.
    fixed: str | None = None
    open_ended: bool = False

    def matches(self, text: str) -> bool:
        if self.fixed is not None:
            if len(text) < len(self.fixed) or (len(text) > len(self.fixed)
                                               and not self.open_ended):
                return False
            return self._starts_with_fixed(text)
        elements = self.elements
        states = self._close({0})
        for ch in text:
            advanced: set[int] = set()
            for i in states:
                if i < len(elements) and elements[i].accepts(ch, self.fold):
                    advanced.add(i if elements[i].repeat else i + 1)
            if not advanced:
                return False
            states = self._close(advanced)
        return len(elements) in states

    def _starts_with_fixed(self, text: str) -> bool:
        assert self.fixed is not None
        head = text[:len(self.fixed)]
        if head == self.fixed:
            return True
        if not self.fold:
            return False
        return head.lower() == self.fixed.lower() or all(
            element.accepts(ch, True) for element, ch in zip(self.elements, head))

    def _close(self, states: set[int]) -> set[int]:
        # A repeated element may match nothing, so the next one is live too.
        closed = set(states)
        for i in sorted(states):
            j = i
            while j < len(self.elements) and self.elements[j].repeat:
                j += 1
                closed.add(j)
        return closed

    def literal_prefix(self) -> tuple[str, bool]:
        """The fixed leading text and whether the rest is exactly "anything".

        ('Microsoft:X', True) for `Microsoft:X%`; ('abc', False) with an empty
        rest means the pattern is the plain string 'abc'.
        """
        prefix: list[str] = []
        index = 0
        for element in self.elements:
            if element.kind != "char" or element.repeat:
                break
            prefix.append(element.chars)
            index += 1
        rest = self.elements[index:]
        anything = bool(rest) and all(e.kind == "any" and e.repeat for e in rest)
        return "".join(prefix), anything

    def is_plain(self) -> bool:
        return all(e.kind == "char" and not e.repeat for e in self.elements)


def compile_like(pattern: str, dialect: LikeDialect, fold: bool) -> LikePattern:
    return _compile(pattern, dialect, fold)


@lru_cache(maxsize=512)
def _compile(pattern: str, dialect: LikeDialect, fold: bool) -> LikePattern:
    elements = tuple(_wql_elements(pattern) if dialect == "WQL" else _cql_elements(pattern))
    general = LikePattern(elements, fold)
    prefix, anything = general.literal_prefix()
    if general.is_plain() or anything:
        return LikePattern(elements, fold, prefix, anything)
    return general


def like(text: str, pattern: str, dialect: LikeDialect = "WQL", fold: bool = True) -> bool:
    return _compile(pattern, dialect, fold).matches(text)


def _wql_elements(pattern: str) -> list[_Element]:
    elements: list[_Element] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "%":
            if not (elements and elements[-1].kind == "any" and elements[-1].repeat):
                elements.append(_Element("any", repeat=True))
            i += 1
        elif ch == "_":
            elements.append(_Element("any"))
            i += 1
        elif ch == "[":
            element, i = _bracket(pattern, i)
            elements.append(element)
        else:
            elements.append(_Element("char", ch))
            i += 1
    return elements


def _cql_elements(pattern: str) -> list[_Element]:
    elements: list[_Element] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*" and elements and not elements[-1].repeat:
            last = elements.pop()
            elements.append(_Element(last.kind, last.chars, last.ranges, last.negated, True))
            i += 1
            continue
        if ch == "\\" and i + 1 < len(pattern):
            elements.append(_Element("char", pattern[i + 1]))
            i += 2
        elif ch == ".":
            elements.append(_Element("any"))
            i += 1
        elif ch == "[":
            element, i = _bracket(pattern, i)
            elements.append(element)
        else:
            elements.append(_Element("char", ch))
            i += 1
    return elements


def _bracket(pattern: str, start: int) -> tuple[_Element, int]:
    """`[...]` starting at `start`; a `]` right after `[` or `[^` is a member."""
    i = start + 1
    negated = i < len(pattern) and pattern[i] == "^"
    if negated:
        i += 1
    members_start = i
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 1
    if i >= len(pattern):
        return _Element("char", "["), start + 1
    body = pattern[members_start:i]
    chars: list[str] = []
    ranges: list[tuple[str, str]] = []
    j = 0
    while j < len(body):
        if j + 2 < len(body) and body[j + 1] == "-":
            ranges.append((body[j], body[j + 2]))
            j += 3
        else:
            chars.append(body[j])
            j += 1
    return _Element("set", "".join(chars), tuple(ranges), negated), i + 1
