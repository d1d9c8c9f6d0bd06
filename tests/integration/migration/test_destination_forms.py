"""DestinationHost names the destination as a peer's name (the other
tests), as the URL of another cimprovider server, or as host:port (plain
HTTP); a URL or address the peers file lists is that peer, with its
credentials. A VM migrated with RetainVhdCopiesOnSource leaves its disk's
copy on the source; one without leaves none."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.integration.migration.two_hosts import exists, migrate, source_and_destination, vm_with_new_disk
from tests.integration.model.hyperv import settings_of, state
from tests.integration.storage.vm_client import disk_paths


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory):
    with source_and_destination(tmp_path_factory.mktemp("destination-forms")) as hosts:
        yield hosts


def placed(conn, vm, target: str):
    sasd = next(s for s in settings_of(conn, "Msvm_StorageAllocationSettingData", vm) if s["HostResource"])
    sasd["HostResource"] = [target]
    return sasd


@pytest.mark.parametrize("form", ["url", "host:port"])
def test_a_destination_named_by_its_address_is_reached_with_the_peers_credentials(hosts, form: str):
    a, b = hosts
    folder = f"by-{form.replace(':', '-')}"
    vm, image = vm_with_new_disk(a, folder, f"{folder}-vm")
    address = urlsplit(b.live.url)
    destination = b.live.url if form == "url" else f"{address.hostname}:{address.port}"
    target = str(b.root / folder / image.name)
    job = migrate(a.conn, vm, destination, resources=[placed(a.conn, vm, target)])
    assert job["JobState"] == 7, job["ErrorDescription"]
    assert not exists(a.conn, vm) and state(b.conn, vm) == 3
    assert disk_paths(b.conn, vm) == [target] and not image.exists()


def test_a_migration_asked_to_retain_the_source_copies_leaves_them(hosts):
    a, b = hosts
    vm, image = vm_with_new_disk(a, "retained", "retained-vm")
    before = image.read_bytes()
    target = str(b.root / "retained" / image.name)
    job = migrate(a.conn, vm, "hostb", resources=[placed(a.conn, vm, target)], RetainVhdCopiesOnSource=True)
    assert job["JobState"] == 7, job["ErrorDescription"]
    assert not exists(a.conn, vm) and disk_paths(b.conn, vm) == [target]
    assert image.read_bytes() == before
