"""LIKE against a plain backtracking reference matcher."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings, strategies as st

from cimprovider.query import compile_like, like


@dataclass(frozen=True)
class Token:
    kind: str  # "lit", "any", "set"
    chars: str = ""
    ranges: tuple[tuple[str, str], ...] = ()
    negated: bool = False
    star: bool = False  # WQL '%' is ("any", star=True)


def _accepts(token: Token, ch: str, fold: bool) -> bool:
    options = {ch, ch.lower(), ch.upper()} if fold else {ch}
    if token.kind == "any":
        return True
    if token.kind == "lit":
        return any(c == token.chars or (fold and c == token.chars.lower()) for c in options)
    inside = any(c in token.chars or any(lo <= c <= hi for lo, hi in token.ranges)
                 for c in options)
    return inside != token.negated


def reference(text: str, tokens: list[Token], fold: bool) -> bool:
    """Try every way of matching, one token at a time."""
    def match(t: int, p: int) -> bool:
        if p == len(tokens):
            return t == len(text)
        token = tokens[p]
        if token.star:
            if match(t, p + 1):
                return True
            return t < len(text) and _accepts(token, text[t], fold) and match(t + 1, p)
        return t < len(text) and _accepts(token, text[t], fold) and match(t + 1, p + 1)
    return match(0, 0)


ALPHABET = "abcAB-"
_set = st.builds(
    lambda members, ranges, negated: Token("set", members, tuple(ranges), negated),
    st.text("abc", min_size=1, max_size=3),
    st.lists(st.sampled_from([("a", "b"), ("b", "c"), ("A", "B")]), max_size=1),
    st.booleans())
wql_token = st.one_of(
    st.builds(lambda c: Token("lit", c), st.sampled_from("abcAB-")),
    st.just(Token("any")), st.just(Token("any", star=True)), _set)


def render_wql(tokens: list[Token]) -> str:
    out = []
    for token in tokens:
        if token.kind == "lit":
            out.append(token.chars)
        elif token.kind == "any":
            out.append("%" if token.star else "_")
        else:
            body = token.chars + "".join(f"{lo}-{hi}" for lo, hi in token.ranges)
            out.append("[" + ("^" if token.negated else "") + body + "]")
    return "".join(out)


@settings(max_examples=400, deadline=None)
@given(st.lists(wql_token, max_size=7), st.text(ALPHABET, max_size=10), st.booleans())
def test_wql_like_agrees_with_reference(tokens: list[Token], text: str, fold: bool) -> None:
    pattern = render_wql(tokens)
    assert compile_like(pattern, "WQL", fold).matches(text) == reference(text, tokens, fold)


cql_atom = st.one_of(
    st.builds(lambda c: Token("lit", c), st.sampled_from("abcAB-.*[\\")),
    st.just(Token("any")), _set)
cql_token = st.builds(lambda t, star: Token(t.kind, t.chars, t.ranges, t.negated, star),
                      cql_atom, st.booleans())


def render_cql(tokens: list[Token]) -> str:
    out = []
    for token in tokens:
        if token.kind == "lit":
            out.append("\\" + token.chars if token.chars in ".*[\\" else token.chars)
        elif token.kind == "any":
            out.append(".")
        else:
            body = token.chars + "".join(f"{lo}-{hi}" for lo, hi in token.ranges)
            out.append("[" + ("^" if token.negated else "") + body + "]")
        if token.star:
            out.append("*")
    return "".join(out)


@settings(max_examples=400, deadline=None)
@given(st.lists(cql_token, max_size=6), st.text(ALPHABET + ".*", max_size=10), st.booleans())
def test_cql_like_agrees_with_reference(tokens: list[Token], text: str, fold: bool) -> None:
    pattern = render_cql(tokens)
    assert compile_like(pattern, "DMTF:CQL", fold).matches(text) == reference(text, tokens, fold)


def test_wql_special_characters_in_brackets_are_literal() -> None:
    assert like("50%", "50[%]")
    assert not like("500", "50[%]")
    assert like("a_b", "a[_]b") and not like("axb", "a[_]b")
    assert like("x]", "x[]]")
    assert like("[abc", "[abc")  # an unclosed bracket is a literal '['


def test_wql_backslash_is_not_an_escape() -> None:
    assert like("Microsoft:Definition\\X\\Default", "%\\Default")
    assert not like("Default", "%\\Default")


def test_cql_percent_and_underscore_are_ordinary() -> None:
    assert like("a%_", "a%_", "DMTF:CQL", fold=False)
    assert not like("abc", "a%", "DMTF:CQL", fold=False)
    assert like("Abc", "a.*", "DMTF:CQL", fold=True)
    assert not like("Abc", "a.*", "DMTF:CQL", fold=False)


def test_hostile_pattern_is_answered() -> None:
    # A backtracking matcher would not finish these within the suite's
    # timeout; how long ours takes is printed by bench/hostile_queries.py.
    assert not like("a" * 5000, "%a%a%a%a%a%a%a%a%b")
    assert not like("a" * 5000, "a*a*a*a*a*a*a*b", "DMTF:CQL")
