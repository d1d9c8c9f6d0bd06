"""Runs the query table (cases.py) against the Msvm-like model."""

from __future__ import annotations

import pytest
from pywbem import CIMError

from cimprovider.query import SelectQuery, format_query, parse_query

from .cases import CASES, Case
from .model import CONTEXT, MODEL


def _parse(case: Case):
    return parse_query(case.language, case.text)


@pytest.mark.parametrize("case", [c for c in CASES if c.error is not None], ids=lambda c: c.id)
def test_bad_query_is_refused_with_a_cim_error(case: Case) -> None:
    with pytest.raises(CIMError) as info:
        _parse(case)
    assert info.value.status_code == case.error
    assert case.message in info.value.status_description


@pytest.mark.parametrize("case", [c for c in CASES if c.selects is not None], ids=lambda c: c.id)
def test_query_selects_expected_instances(case: Case) -> None:
    query = _parse(case)
    assert isinstance(query, SelectQuery)
    selected = {label for label, instance in MODEL.items() if query.matches(instance, CONTEXT)}
    assert selected == case.selects


@pytest.mark.parametrize("case", [c for c in CASES if c.fields], ids=lambda c: c.id)
def test_query_parses_to_expected_fields(case: Case) -> None:
    query = _parse(case)
    for name, expected in case.fields.items():
        assert getattr(query, name) == expected, name


@pytest.mark.parametrize("case", [c for c in CASES if c.error is None], ids=lambda c: c.id)
def test_printed_query_parses_back_to_the_same_tree(case: Case) -> None:
    query = _parse(case)
    text = format_query(query)
    assert parse_query(case.language, text) == query, text


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 150
