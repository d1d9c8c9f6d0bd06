"""Hostile and malformed input: a CIMError every time, never a crash, and
the parser keeps working afterwards."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from pywbem import CIMError

from cimprovider.query import MAX_NESTING, MAX_QUERY_LENGTH, SelectQuery, parse_query

from .model import CONTEXT, MODEL

GOOD = "SELECT * FROM Msvm_ComputerSystem WHERE ElementName = 'web01'"


def _refused(language: str, text: object) -> CIMError:
    with pytest.raises(CIMError) as info:
        parse_query(language, text)  # type: ignore[arg-type]
    assert info.value.status_code == 15
    return info.value


@pytest.mark.parametrize("language", ["WQL", "DMTF:CQL"])
def test_ten_thousand_nested_parentheses(language: str) -> None:
    text = "SELECT * FROM X WHERE " + "(" * 10_000 + "a = 1" + ")" * 10_000
    error = _refused(language, text)
    assert f"nested more than {MAX_NESTING} deep" in error.status_description
    assert parse_query(language, GOOD).from_class == "Msvm_ComputerSystem"


def test_nesting_at_the_limit_is_accepted() -> None:
    depth = MAX_NESTING - 1
    text = "SELECT * FROM X WHERE " + "(" * depth + "a = 1" + ")" * depth
    assert isinstance(parse_query("WQL", text), SelectQuery)


def test_unclosed_parentheses_without_end() -> None:
    _refused("WQL", "SELECT * FROM X WHERE " + "(" * 10_000)


@pytest.mark.parametrize("prefix", ["NOT " * 10_000, "- " * 10_000])
def test_deep_chains_without_parentheses(prefix: str) -> None:
    error = _refused("DMTF:CQL", "SELECT * FROM X WHERE " + prefix + "a = 1")
    assert "nests more than" in error.status_description


def test_long_arithmetic_chain_is_bounded() -> None:
    error = _refused("DMTF:CQL", "SELECT * FROM X WHERE a = " + "1 + " * 5000 + "1")
    assert "nests more than" in error.status_description


def test_nested_array_indexes() -> None:
    _refused("DMTF:CQL", "SELECT * FROM X WHERE " + "a[" * 5000 + "0" + "]" * 5000 + " = 1")


@pytest.mark.parametrize("language", ["WQL", "DMTF:CQL"])
def test_one_megabyte_query(language: str) -> None:
    text = "SELECT * FROM X WHERE " + " OR ".join(["a = 'xxxxxxxx'"] * 60_000)
    assert len(text) > 1_000_000
    error = _refused(language, text)
    assert f"the limit is {MAX_QUERY_LENGTH}" in error.status_description


def test_long_flat_or_under_the_limit_parses_and_evaluates() -> None:
    terms = [f"ElementName = 'vm{i}'" for i in range(5000)] + ["ElementName = 'web01'"]
    text = "SELECT * FROM Msvm_ComputerSystem WHERE " + " OR ".join(terms)
    assert len(text) < MAX_QUERY_LENGTH
    query = parse_query("WQL", text)
    assert query.matches(MODEL["vm1"], CONTEXT)
    assert not query.matches(MODEL["vm2"], CONTEXT)


@pytest.mark.parametrize("text, message", [
    ("SELECT * FROM X WHERE a = '" + "x" * 100_000, "unterminated string starting at column 27"),
    ('SELECT * FROM X WHERE a = "abc', "unterminated string"),
    ("SELECT * FROM X WHERE a = 'abc\\'", "unterminated string"),
    ("SELECT * FROM X WHERE a = 1 FETCH FIRST 1 ROWS", "unexpected 'FETCH' at column 29"),
    ("SELECT * FROM X WHERE a = 1\nAND b = 2 BOGUS", "unexpected 'BOGUS' at line 2, column 11"),
    ("SELECT * FROM X WHERE a = \x00", "unexpected character '\\x00'"),
    ("SELECT * FROM X WHERE ä = 1", "unexpected character 'ä'"),
    ("DROP TABLE X", "unexpected 'DROP' at column 1"),
])
def test_malformed_queries_name_the_offending_token(text: str, message: str) -> None:
    assert message in _refused("WQL", text).status_description


@pytest.mark.parametrize("text", [None, "", "   "])
def test_missing_query_text(text: object) -> None:
    assert "empty" in _refused("WQL", text).status_description


@pytest.mark.parametrize("language", ["SQL", "XPath", "", "DMTF:CQL:1", "WQL2"])
def test_unknown_language_is_14(language: str) -> None:
    with pytest.raises(CIMError) as info:
        parse_query(language, GOOD)
    assert info.value.status_code == 14
    assert repr(language) in info.value.status_description


def test_parsing_is_safe_across_threads() -> None:
    deep = "SELECT * FROM X WHERE " + "(" * 5000 + "a = 1" + ")" * 5000
    shallow = "SELECT * FROM X WHERE " + "(" * 50 + "a = 1" + ")" * 50

    def attempt(text: str) -> bool:
        try:
            parse_query("WQL", text)
            return True
        except CIMError:
            return False

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, [deep, shallow] * 100))
    assert results == [False, True] * 100
