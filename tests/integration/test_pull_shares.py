"""Pull enumeration contexts are shared out per principal: one reader that
opens contexts and never closes them cannot lock anybody else out, a pull
that fails gives its context back, and a context answers only the
principal that opened it. Principals are the authenticated users, or each
client address when authentication is off (127.0.0.1 and 127.0.0.2 here,
both loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests.adapters
from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_ENUMERATION_CONTEXT,
    CIM_ERR_SERVER_LIMITS_EXCEEDED,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    WBEMConnection,
)

from cimprovider.http.auth import UsersFile
from cimprovider.providers.base import InstanceProvider
from tests.support.live import LiveServer, in_process_server

INTEROP = "root/interop"
PROFILES = "CIM_RegisteredProfile"  # several instances: an enumeration stays open
FAULTY = "CIM_Memory"  # served here by a provider whose enumeration breaks
DEFAULT_SHARE = 64
DEFAULT_TOTAL = 256


class BreaksAfterOne(InstanceProvider):
    """An enumeration that fails after its first instance, as one whose
    backend goes away mid-way does."""

    classnames = (FAULTY,)

    def enumerate_instances(self, ctx, classname, properties, pushdown=None) -> Iterator[CIMInstance]:
        keys = {"CreationClassName": FAULTY, "DeviceID": "m0", "SystemCreationClassName": "CIM_System",
                "SystemName": "here"}
        yield CIMInstance(FAULTY, properties=keys, path=CIMInstanceName(FAULTY, keybindings=keys))
        raise CIMError(CIM_ERR_FAILED, "memory device m1 vanished while it was enumerated")


def serve_faulty(registry, catalog, parts) -> None:
    registry.register(INTEROP, BreaksAfterOne())


class FromAddress(requests.adapters.HTTPAdapter):
    """Connections from a chosen loopback source address."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def connection_from(server: LiveServer, source: str) -> WBEMConnection:
    conn = server.connection(INTEROP)
    conn.session.mount("http://", FromAddress(source))
    return conn


def open_profiles(conn: WBEMConnection):
    """Open an enumeration that stays open (nothing returned yet)."""
    result = conn.OpenEnumerateInstances(PROFILES, MaxObjectCount=0, OperationTimeout=600)
    assert not result.eos
    return result.context


def refusal(call) -> CIMError:
    with pytest.raises(CIMError) as err:
        call()
    return err.value


@pytest.fixture(scope="module")
def anonymous(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Default limits, authentication off: each client address is a principal."""
    with in_process_server(tmp_path_factory.mktemp("pull-anonymous"), [serve_faulty]) as live:
        yield live


@pytest.fixture(scope="module")
def with_users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("pull-users")
    users = UsersFile(Path(data_dir) / "users.json")
    users.add("alice", "alice-secret", "reader")
    users.add("bob", "bob-secret", "reader")
    with in_process_server(data_dir, users_file=users.path, max_pull_contexts_per_principal=2) as live:
        yield live


def test_one_address_cannot_take_every_context(anonymous: LiveServer) -> None:
    greedy = connection_from(anonymous, "127.0.0.2")
    other = connection_from(anonymous, "127.0.0.1")
    opened = []
    try:
        refused = None
        for _ in range(DEFAULT_TOTAL + 1):  # bounded: the global limit refuses at the latest
            try:
                opened.append(open_profiles(greedy))
            except CIMError as error:
                refused = error
                break
        assert refused is not None and refused.status_code == CIM_ERR_SERVER_LIMITS_EXCEEDED
        assert len(opened) == DEFAULT_SHARE
        assert "127.0.0.2" in refused.status_description and str(DEFAULT_SHARE) in refused.status_description
        # The other client is not locked out, and can finish its enumeration.
        context = open_profiles(other)
        result = other.PullInstancesWithPath(context, MaxObjectCount=1000)
        assert result.eos and result.instances
    finally:
        for context in opened:
            greedy.CloseEnumeration(context)
    greedy.CloseEnumeration(open_profiles(greedy))  # closing gave the share back


def test_a_context_answers_only_the_address_that_opened_it(anonymous: LiveServer) -> None:
    owner = connection_from(anonymous, "127.0.0.1")
    stranger = connection_from(anonymous, "127.0.0.2")
    context = open_profiles(owner)
    for call in (
        lambda: stranger.PullInstancesWithPath(context, MaxObjectCount=1),
        lambda: stranger.CloseEnumeration(context),
    ):
        assert refusal(call).status_code == CIM_ERR_INVALID_ENUMERATION_CONTEXT
    result = owner.PullInstancesWithPath(context, MaxObjectCount=1000)
    assert result.eos and result.instances


def test_a_failed_pull_gives_its_context_back(anonymous: LiveServer) -> None:
    conn = connection_from(anonymous, "127.0.0.3")
    failed = []
    for _ in range(DEFAULT_SHARE):
        result = conn.OpenEnumerateInstances(FAULTY, MaxObjectCount=0, OperationTimeout=600)
        assert not result.eos
        error = refusal(lambda: conn.PullInstancesWithPath(result.context, MaxObjectCount=5))
        assert error.status_code == CIM_ERR_FAILED and "m1 vanished" in error.status_description
        failed.append(result.context)
    # Had the failed contexts stayed open, this principal's share would be spent.
    context = open_profiles(conn)
    conn.CloseEnumeration(context)
    error = refusal(lambda: conn.PullInstancesWithPath(failed[0], MaxObjectCount=1))
    assert error.status_code == CIM_ERR_INVALID_ENUMERATION_CONTEXT


def test_each_user_has_a_share_and_only_the_owner_may_use_a_context(with_users: LiveServer) -> None:
    alice = with_users.connection(INTEROP, ("alice", "alice-secret"))
    bob = with_users.connection(INTEROP, ("bob", "bob-secret"))
    mine = [open_profiles(alice), open_profiles(alice)]
    error = refusal(lambda: open_profiles(alice))
    assert error.status_code == CIM_ERR_SERVER_LIMITS_EXCEEDED
    assert "alice" in error.status_description and "2" in error.status_description
    theirs = open_profiles(bob)  # bob still has his share
    for call in (
        lambda: bob.PullInstancesWithPath(mine[0], MaxObjectCount=1),
        lambda: bob.CloseEnumeration(mine[1]),
    ):
        assert refusal(call).status_code == CIM_ERR_INVALID_ENUMERATION_CONTEXT
    assert refusal(lambda: alice.PullInstancesWithPath(theirs, MaxObjectCount=1)).status_code == (
        CIM_ERR_INVALID_ENUMERATION_CONTEXT
    )
    for context in mine:
        result = alice.PullInstancesWithPath(context, MaxObjectCount=1000)
        assert result.eos and result.instances
    bob.CloseEnumeration(theirs)
