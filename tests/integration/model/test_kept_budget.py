"""The reply cache's budget is memory: a class whose replies are several
times the budget in bytes is kept whole within it, since what its
instances share is held once, and answered as a built reply would be."""

from __future__ import annotations

import pytest

from cimprovider.schemas.vm import SystemSettings
from tests.integration.model.kept_support import reply, request, server_pair

VMS = 200
BUDGET_MB = 1


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    with server_pair(tmp_path_factory.mktemp("budget"), reply_cache_megabytes=BUDGET_MB) as pair:
        for i in range(VMS):
            pair.backend.define_vm(SystemSettings(name=f"vm-{i}"))
        yield pair


def test_every_resource_setting_is_kept_within_a_budget_a_fraction_of_their_bytes(pair):
    body = request("EnumerateInstances", ClassName="CIM_ResourceAllocationSettingData")
    built = reply(pair.built, body)
    assert len(built) > 4 * BUDGET_MB * 2**20, "the reply is not several times the budget"
    pair.store.forget_all()
    assert reply(pair.kept, body) == built
    vm = pair.backend.list_vms()[-1].id
    assert pair.store.kept_for(vm) >= 10, "the last VM's settings were not kept"
    assert reply(pair.kept, body) == built  # every entry kept: the whole lists too
    lists = pair.store.whole_lists()
    assert lists >= 10, f"only {lists} classes of settings kept whole"
    assert reply(pair.kept, body) == built
    assert 0 < pair.store.size <= pair.store.budget
