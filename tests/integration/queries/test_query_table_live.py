"""The query table (tests/unit/query/cases.py) over a live server: every
case through ExecQuery and through OpenQueryInstances/PullInstances, as
pywbem sends them."""

from __future__ import annotations

import pytest
from pywbem import CIMError

from cimprovider.query import parse_query
from tests.unit.query.cases import CASES, Case
from tests.unit.query.model import MODEL, NAMESPACE


def is_instance_query(case: Case) -> bool:
    """Event queries select indications: they are indication filters, and
    the indication tests run them."""
    query = parse_query(case.language, case.text)
    return not getattr(query, "is_event_query", False)


LIVE = [c for c in CASES if c.error is not None or (c.selects is not None and is_instance_query(c))]


def label_of(path) -> str:
    for label, instance in MODEL.items():
        if instance.path is not None and instance.path.classname.lower() == path.classname.lower() and dict(
            instance.path.keybindings
        ) == dict(path.keybindings):
            return label
    raise AssertionError(f"the server returned an instance the model does not have: {path}")


def expected(case: Case) -> set[str]:
    # Event instances are indications, not served instances.
    return {label for label in case.selects if MODEL[label].path is not None and not MODEL[label].classname.startswith("CIM_Inst")}


@pytest.mark.parametrize("case", LIVE, ids=lambda c: c.id)
def test_exec_query(model_server, case: Case) -> None:
    conn = model_server.connection(NAMESPACE)
    if case.error is not None:
        with pytest.raises(CIMError) as info:
            conn.ExecQuery(case.language, case.text)
        assert info.value.status_code == case.error
        assert case.message in info.value.status_description
        return
    result = conn.ExecQuery(case.language, case.text)
    returned = [label_of(i.path) for i in result]
    if parse_query(case.language, case.text).distinct:
        # One row per distinct projection: fewer rows, all from the selection.
        assert returned and set(returned) <= expected(case)
    else:
        assert sorted(returned) == sorted(expected(case))


@pytest.mark.parametrize(
    "case",
    [c for c in LIVE if c.error is None and not parse_query(c.language, c.text).distinct][::3],
    ids=lambda c: c.id,
)
def test_open_query_instances(model_server, case: Case) -> None:
    conn = model_server.connection(NAMESPACE)
    result = conn.OpenQueryInstances(case.language, case.text, MaxObjectCount=2)
    count = len(result.instances)
    context = result.context
    while not result.eos:
        result = conn.PullInstances(context, MaxObjectCount=2)
        count += len(result.instances)
        context = result.context
    assert count == len(expected(case))
