"""A destination whose storage is too small: a migration that cannot
fit is refused before anything is sent, saying how much room it needs;
a file that fills the disk on its way in (another writer took the room)
is refused with 507 naming it, its part is removed, and it can be sent
again once there is room. The VM stays on the source as it was."""

from __future__ import annotations

import errno
import hashlib
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cimprovider.schemas.migration import FileSlot, MigratingVm, MigrationOffer
from cimprovider.schemas.vm import VirtualMachine
from tests.integration.migration.test_upload_channel import prepare
from tests.integration.migration.two_hosts import destination_host, exists, migrate, source_host
from tests.integration.model.hyperv import settings_of
from tests.integration.storage.vhd_client import MIB, create
from tests.integration.storage.vm_client import vm_with_disk


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator:
    """hostb's storage root is a 4 MiB tmpfs of its own (the test runs as root, as CI does)."""
    root = tmp_path / "b-storage"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(root)], check=True)
    try:
        with destination_host(tmp_path) as b, source_host(tmp_path, b.live.url) as a:
            yield a, b
    finally:
        subprocess.run(["umount", "-l", str(root)], check=True)


def files_in(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_a_migration_that_cannot_fit_is_refused_before_anything_is_sent(hosts):
    a, b = hosts
    image = a.root / "big" / "big.vhd"
    image.parent.mkdir(parents=True)
    create(a.conn, image, type="fixed", size=16 * MIB)
    before = image.read_bytes()
    vm = vm_with_disk(a.conn, "big", image)
    job = migrate(a.conn, vm, "hostb", resources=[placed(a, vm, b.root / "big" / "big.vhd")])
    assert job["JobState"] == 10
    assert "not enough space on the destination host" in job["ErrorDescription"], job["ErrorDescription"]
    assert exists(a.conn, vm) and not exists(b.conn, vm) and image.read_bytes() == before
    assert files_in(b.root) == []


def test_a_file_that_fills_the_disk_on_its_way_is_refused_and_can_come_again(hosts):
    _, b = hosts
    content = bytes(range(256)) * 8192  # 2 MiB
    vm = VirtualMachine(id=uuid.uuid4(), name="incoming")
    target = b.root / "in" / "disk.iso"
    slot = FileSlot(path=str(target), size=len(content), sha256=hashlib.sha256(content).hexdigest())
    token = prepare(b, MigrationOffer(source_host="elsewhere", backend="simulated", record=MigratingVm(vm=vm), files=(slot,)))
    filler = fill(b.root)
    url = f"{b.live.url}/migration/{token}/0"
    refused = requests.put(url, data=content, timeout=60)
    assert refused.status_code == 507, refused.text
    assert str(target) in refused.text and "No space left" in refused.text
    assert files_in(b.root) == [filler]
    filler.unlink()
    assert requests.put(url, data=content, timeout=60).status_code == 204
    assert target.read_bytes() == content


def fill(root: Path) -> Path:
    """A file that takes all but 1 MiB of the disk."""
    filler = root / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * MIB)
                out.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC
    with open(filler, "r+b") as out:
        out.truncate(filler.stat().st_size - MIB)
    return filler


def placed(host, vm, target: Path):
    sasd = next(d for d in settings_of(host.conn, "Msvm_StorageAllocationSettingData", vm)
                if d["ResourceSubType"] == "Microsoft:Hyper-V:Virtual Hard Disk")
    sasd["HostResource"] = [str(target)]
    return sasd
