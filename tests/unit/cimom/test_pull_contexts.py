from __future__ import annotations

import pytest
from pywbem import CIM_ERR_INVALID_ENUMERATION_CONTEXT, CIM_ERR_SERVER_LIMITS_EXCEEDED, CIMError

from cimprovider.cimom.pull import EnumerationContexts


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_batches_then_end_of_sequence_with_last_batch():
    contexts = EnumerationContexts()
    batch, end, ctx = contexts.open("ns", "instances", iter(range(5)), 2, None)
    assert (batch, end) == ([0, 1], False)
    batch, end, ctx = contexts.pull("ns", "instances", ctx, 3)
    assert (batch, end, ctx) == ([2, 3, 4], True, "")


def test_empty_enumeration_ends_at_open():
    contexts = EnumerationContexts()
    assert contexts.open("ns", "paths", iter([]), 0, None) == ([], True, "")
    assert len(contexts) == 0


def test_generator_is_not_consumed_beyond_what_is_asked():
    pulled = []

    def items():
        for i in range(1000):
            pulled.append(i)
            yield i

    contexts = EnumerationContexts()
    contexts.open("ns", "instances", items(), 10, None)
    assert len(pulled) == 11  # one look-ahead to know whether the sequence ended


def test_expired_context_is_invalid():
    clock = Clock()
    contexts = EnumerationContexts(clock=clock)
    _, _, ctx = contexts.open("ns", "instances", iter(range(5)), 1, 10)
    clock.now = 11
    with pytest.raises(CIMError) as err:
        contexts.pull("ns", "instances", ctx, 1)
    assert err.value.status_code == CIM_ERR_INVALID_ENUMERATION_CONTEXT


def test_wrong_namespace_or_kind_is_invalid():
    contexts = EnumerationContexts()
    _, _, ctx = contexts.open("ns", "instances", iter(range(5)), 1, None)
    for namespace, kind in (("other", "instances"), ("ns", "paths")):
        with pytest.raises(CIMError) as err:
            contexts.pull(namespace, kind, ctx, 1)
        assert err.value.status_code == CIM_ERR_INVALID_ENUMERATION_CONTEXT


def test_number_of_open_contexts_is_bounded():
    contexts = EnumerationContexts(max_open=2)
    for _ in range(2):
        contexts.open("ns", "instances", iter(range(5)), 1, None)
    with pytest.raises(CIMError) as err:
        contexts.open("ns", "instances", iter(range(5)), 1, None)
    assert err.value.status_code == CIM_ERR_SERVER_LIMITS_EXCEEDED


def test_count_then_pull_everything():
    contexts = EnumerationContexts()
    _, _, ctx = contexts.open("ns", "instances", iter(range(7)), 2, None)
    assert contexts.count("ns", ctx) == 5
    assert contexts.pull("ns", "instances", ctx, 100) == ([2, 3, 4, 5, 6], True, "")
