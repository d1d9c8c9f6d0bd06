from __future__ import annotations

import pytest
from pywbem import CIM_ERR_FAILED, CIM_ERR_INVALID_ENUMERATION_CONTEXT, CIM_ERR_SERVER_LIMITS_EXCEEDED, CIMError

from cimprovider.cimom.pull import EnumerationContexts
from cimprovider.wire.messages import KeptRun

ME, OTHER = "user me", "user other"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_batches_then_end_of_sequence_with_last_batch():
    contexts = EnumerationContexts()
    batch, end, ctx = contexts.open(ME, "ns", "instances", iter(range(5)), 2, None)
    assert (batch, end) == ([0, 1], False)
    batch, end, ctx = contexts.pull(ME, "ns", "instances", ctx, 3)
    assert (batch, end, ctx) == ([2, 3, 4], True, "")


def test_empty_enumeration_ends_at_open():
    contexts = EnumerationContexts()
    assert contexts.open(ME, "ns", "paths", iter([]), 0, None) == ([], True, "")
    assert len(contexts) == 0


def test_generator_is_not_consumed_beyond_what_is_asked():
    pulled = []

    def items():
        for i in range(1000):
            pulled.append(i)
            yield i

    contexts = EnumerationContexts()
    contexts.open(ME, "ns", "instances", items(), 10, None)
    assert len(pulled) == 11  # one look-ahead to know whether the sequence ended


def test_expired_context_is_invalid():
    clock = Clock()
    contexts = EnumerationContexts(clock=clock)
    _, _, ctx = contexts.open(ME, "ns", "instances", iter(range(5)), 1, 10)
    clock.now = 11
    with pytest.raises(CIMError) as err:
        contexts.pull(ME, "ns", "instances", ctx, 1)
    assert err.value.status_code == CIM_ERR_INVALID_ENUMERATION_CONTEXT


def test_each_context_expires_on_its_own_time_as_pulls_extend_it():
    clock = Clock()
    contexts = EnumerationContexts(clock=clock)
    _, _, soon = contexts.open(ME, "ns", "instances", iter(range(9)), 1, 10)
    _, _, late = contexts.open(ME, "ns", "instances", iter(range(9)), 1, 100)
    clock.now = 5
    contexts.pull(ME, "ns", "instances", soon, 1)  # now expires at 15, after the first expiry foreseen
    clock.now = 12
    assert contexts.pull(ME, "ns", "instances", soon, 1)[0] == [2]  # and again at 22
    assert len(contexts) == 2
    clock.now = 23
    assert len(contexts) == 1
    with pytest.raises(CIMError) as err:
        contexts.pull(ME, "ns", "instances", soon, 1)
    assert err.value.status_code == CIM_ERR_INVALID_ENUMERATION_CONTEXT
    assert contexts.pull(ME, "ns", "instances", late, 1)[0] == [1]  # expires at 123 now
    clock.now = 124
    assert len(contexts) == 0
    _, _, fresh = contexts.open(ME, "ns", "instances", iter(range(9)), 1, 10)
    clock.now = 133
    assert contexts.pull(ME, "ns", "instances", fresh, 1)[0] == [1]


def test_wrong_namespace_or_kind_is_invalid():
    contexts = EnumerationContexts()
    _, _, ctx = contexts.open(ME, "ns", "instances", iter(range(5)), 1, None)
    for namespace, kind in (("other", "instances"), ("ns", "paths")):
        with pytest.raises(CIMError) as err:
            contexts.pull(ME, namespace, kind, ctx, 1)
        assert err.value.status_code == CIM_ERR_INVALID_ENUMERATION_CONTEXT


def test_number_of_open_contexts_is_bounded():
    contexts = EnumerationContexts(max_open=2)
    for _ in range(2):
        contexts.open(ME, "ns", "instances", iter(range(5)), 1, None)
    with pytest.raises(CIMError) as err:
        contexts.open(ME, "ns", "instances", iter(range(5)), 1, None)
    assert err.value.status_code == CIM_ERR_SERVER_LIMITS_EXCEEDED


def test_count_then_pull_everything():
    contexts = EnumerationContexts()
    _, _, ctx = contexts.open(ME, "ns", "instances", iter(range(7)), 2, None)
    assert contexts.count(ME, "ns", ctx) == 5
    assert contexts.pull(ME, "ns", "instances", ctx, 100) == ([2, 3, 4, 5, 6], True, "")


def test_each_owner_has_a_share_within_the_global_limit():
    contexts = EnumerationContexts(max_open=3, max_per_owner=2)
    for _ in range(2):
        contexts.open(ME, "ns", "instances", iter(range(5)), 1, None)
    with pytest.raises(CIMError) as err:
        contexts.open(ME, "ns", "instances", iter(range(5)), 1, None)
    assert err.value.status_code == CIM_ERR_SERVER_LIMITS_EXCEEDED
    assert "user me has 2 open enumeration contexts" in err.value.status_description
    contexts.open(OTHER, "ns", "instances", iter(range(5)), 1, None)
    with pytest.raises(CIMError) as err:  # the server's own limit still holds
        contexts.open("user third", "ns", "instances", iter(range(5)), 1, None)
    assert err.value.status_code == CIM_ERR_SERVER_LIMITS_EXCEEDED


def test_refused_open_builds_nothing():
    pulled = []

    def items():
        pulled.append(1)
        yield 1

    contexts = EnumerationContexts(max_per_owner=1)
    contexts.open(ME, "ns", "instances", iter(range(5)), 1, None)
    with pytest.raises(CIMError):
        contexts.open(ME, "ns", "instances", items(), 1, None)
    assert pulled == []


def test_only_the_owner_may_use_a_context():
    contexts = EnumerationContexts()
    _, _, ctx = contexts.open(ME, "ns", "instances", iter(range(5)), 1, None)
    for call in (
        lambda: contexts.pull(OTHER, "ns", "instances", ctx, 1),
        lambda: contexts.count(OTHER, "ns", ctx),
        lambda: contexts.close(OTHER, "ns", ctx),
    ):
        with pytest.raises(CIMError) as err:
            call()
        assert err.value.status_code == CIM_ERR_INVALID_ENUMERATION_CONTEXT
    assert contexts.pull(ME, "ns", "instances", ctx, 10) == ([1, 2, 3, 4], True, "")


def broken(after: int):
    yield from range(after)
    raise CIMError(CIM_ERR_FAILED, "the backend went away")


@pytest.mark.parametrize("fail", [
    lambda c, ctx: c.pull(ME, "ns", "instances", ctx, 5),  # the enumeration breaks
    lambda c, ctx: c.count(ME, "ns", ctx),
    lambda c, ctx: c.pull(ME, "ns", "instances", ctx, -1),  # a bad parameter
    lambda c, ctx: c.pull(ME, "ns", "instances", ctx, None),
    lambda c, ctx: c.pull(ME, "ns", "paths", ctx, 1),  # the wrong pull operation
])
def test_a_failed_pull_releases_its_context(fail):
    contexts = EnumerationContexts(max_per_owner=1)
    _, _, ctx = contexts.open(ME, "ns", "instances", broken(2), 0, None)
    with pytest.raises(CIMError):
        fail(contexts, ctx)
    assert len(contexts) == 0
    contexts.open(ME, "ns", "instances", iter(range(5)), 1, None)  # the share is free again


def test_a_failed_open_keeps_no_context():
    contexts = EnumerationContexts(max_per_owner=1)
    with pytest.raises(CIMError):
        contexts.open(ME, "ns", "instances", broken(0), 1, None)
    assert len(contexts) == 0


def stretch(*names: str) -> KeptRun:
    return KeptRun("shape", list(names), ["key"] * len(names), source=None)  # type: ignore[arg-type]


def members(batch: list) -> list:
    return [name for item in batch for name in (item.owners[item.start : item.end] if isinstance(item, KeptRun) else [item])]


def test_a_stretch_of_kept_instances_is_cut_where_a_batch_ends():
    contexts = EnumerationContexts()
    items = iter([stretch("a", "b", "c", "d", "e"), "plain", stretch(), stretch("f", "g")])
    batch, end, ctx = contexts.open(ME, "ns", "instances", items, 2, None)
    assert (members(batch), end) == (["a", "b"], False)
    batch, end, ctx = contexts.pull(ME, "ns", "instances", ctx, 4)
    assert (members(batch), end) == (["c", "d", "e", "plain"], False)
    assert contexts.count(ME, "ns", ctx) == 2
    batch, end, ctx = contexts.pull(ME, "ns", "instances", ctx, 5)
    assert (members(batch), end, ctx) == (["f", "g"], True, "")


def test_slices_of_one_stretch_share_what_the_writer_learnt():
    contexts = EnumerationContexts()
    batch, _, ctx = contexts.open(ME, "ns", "instances", iter([stretch("a", "b", "c")]), 1, None)
    later, _, _ = contexts.pull(ME, "ns", "instances", ctx, 1)
    assert batch[0].state is later[0].state
    assert batch[0].owners is later[0].owners
