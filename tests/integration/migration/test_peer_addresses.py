"""A peer's credentials go only to addresses the peers file names for
it: the host of its URL, or its `addresses`. A DestinationIPAddressList
naming any other address is refused before anything connects there, so
an admin of this server cannot have it sign in with a peer's account at
a host of their choosing."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.integration.migration.two_hosts import destination_host, exists, migrate, source_host
from tests.integration.storage.vhd_client import create
from tests.integration.storage.vm_client import vm_with_disk
from tests.support.recorder import recording_listener


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("peer-addresses")
    with destination_host(base) as b, source_host(base, b.live.url, destination_addresses=("127.0.0.2",)) as a:
        yield a, b


def test_an_address_the_peers_file_does_not_name_for_the_peer_gets_nothing(hosts):
    a, b = hosts
    port = urlsplit(b.live.url).port
    image = a.root / "elsewhere" / "elsewhere.vhd"
    image.parent.mkdir()
    create(a.conn, image)
    vm = vm_with_disk(a.conn, "elsewhere", image)
    # Where hostb's credentials would go: its port, on another address.
    with recording_listener("127.0.0.3", port) as stranger:
        job = migrate(a.conn, vm, "hostb", DestinationIPAddressList=["127.0.0.3"])
    assert not stranger.contacted, stranger.heads
    assert job["JobState"] == 10
    assert job["ErrorCode"] == 32773, job["ErrorDescription"]
    assert job["ErrorDescription"].startswith("DestinationIPAddressList: 127.0.0.3 is not an address of peer hostb")
    assert exists(a.conn, vm) and not exists(b.conn, vm) and image.exists()


def test_an_address_the_peers_file_names_for_the_peer_is_used(hosts):
    a, b = hosts
    port = urlsplit(b.live.url).port
    image = a.root / "listed" / "listed.vhd"
    image.parent.mkdir()
    create(a.conn, image)
    vm = vm_with_disk(a.conn, "listed", image)
    with recording_listener("127.0.0.2", port) as listed:
        job = migrate(a.conn, vm, "hostb", DestinationIPAddressList=["127.0.0.2"])
    # The listed address was tried with the peer's credentials (the
    # recorder answers 404: no cimprovider there, so the job fails).
    assert listed.contacted and any(b"Authorization: Basic" in head for head in listed.heads), listed.heads
    assert job["JobState"] == 10 and "127.0.0.2" in job["ErrorDescription"], job["ErrorDescription"]
    assert exists(a.conn, vm)
