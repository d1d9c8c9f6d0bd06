"""Every writable property of Msvm_VirtualSystemMigrationSettingData and
of the service's settings is either carried out or refused naming it:
DestinationIPAddressList picks the address the destination is reached
at, EnableCompression deflates the files on the way, Bandwidth caps the
rate they are sent at, Priority orders the migrations that wait (see the unit tests of the slots); what this
host cannot do (capping processors, a blackout threshold, another
transport, SMB…) fails the call and leaves the VM where it was."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pywbem import Uint16, Uint32

from tests.integration.migration.two_hosts import destination_host, exists, migrate, migration_service, source_host
from tests.integration.model.hyperv import settings_of, state, wait_job
from tests.integration.storage.vhd_client import MIB, create
from tests.integration.storage.vm_client import disk_paths, vm_with_disk


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("settings")
    # 127.0.0.2 is hostb's too, as the peers file says; b listens on 127.0.0.1 only.
    with destination_host(base) as b, source_host(base, b.live.url, destination_addresses=("127.0.0.2",)) as a:
        yield a, b


def vm_on(host, name: str, type: str = "dynamic"):
    image = host.root / name / f"{name}.vhd"
    image.parent.mkdir()
    create(host.conn, image, type)
    return vm_with_disk(host.conn, name, image), image


REFUSED = [
    ("CPUCappingMagnitude", Uint32(50), 32770),
    ("CPUCappingMagnitude", Uint32(101), 32773),
    ("CancelIfBlackoutThresholdExceeded", True, 32770),
    ("RemoveSourceUnmanagedVhds", True, 32770),
    ("OtherTransportType", "RDMA", 32770),
    ("BandwidthUnit", "byte / second", 32773),
    ("Priority", Uint16(7), 32773),
    ("DestinationIPAddressList", ["hostb.example"], 32773),
    ("Description", "a description the model keeps nowhere", 32770),
]


@pytest.mark.parametrize(("name", "value", "code"), REFUSED, ids=[f"{n}={v}" for n, v, _ in REFUSED])
def test_a_setting_the_host_cannot_carry_out_is_refused_naming_it(hosts, name, value, code):
    a, b = hosts
    vm, image = vm_on(a, f"refused-{name.lower()}-{code}")
    job = migrate(a.conn, vm, "hostb", resources=[], MigrationType=Uint16(32768), **{name: value})
    assert job["JobState"] == 10
    assert job["ErrorCode"] == code and job["ErrorDescription"].startswith(f"{name}:"), job["ErrorDescription"]
    assert exists(a.conn, vm) and not exists(b.conn, vm) and image.exists()


def test_the_destination_is_reached_at_the_first_listed_address_that_answers(hosts):
    a, b = hosts
    # b listens on 127.0.0.1 only: 127.0.0.2 (loopback too) refuses.
    vm, image = vm_on(a, "addresses-none")
    job = migrate(a.conn, vm, "hostb", DestinationIPAddressList=["127.0.0.2"])
    assert job["JobState"] == 10
    assert "DestinationIPAddressList" in job["ErrorDescription"] and "127.0.0.2" in job["ErrorDescription"]
    assert exists(a.conn, vm) and not exists(b.conn, vm)
    moved, _ = vm_on(a, "addresses-second")
    job = migrate(a.conn, moved, "hostb", DestinationIPAddressList=["127.0.0.2", "127.0.0.1"],
                  resources=[_placed(a, moved, b.root / "addresses" / "second.vhd")])
    assert job["JobState"] == 7, job["ErrorDescription"]
    assert not exists(a.conn, moved) and state(b.conn, moved) == 3


def test_a_compressed_migration_arrives_byte_for_byte(hosts):
    a, b = hosts
    vm, image = vm_on(a, "deflated")
    before = image.read_bytes()
    target = b.root / "deflated" / "deflated.vhd"
    job = migrate(a.conn, vm, "hostb", EnableCompression=True, resources=[_placed(a, vm, target)])
    assert job["JobState"] == 7, job["ErrorDescription"]
    assert disk_paths(b.conn, vm) == [str(target)]
    assert target.read_bytes() == before


def test_a_migration_with_a_bandwidth_sends_no_faster(hosts):
    """4 MiB of disk at Bandwidth 8 (Mbit/s, 1,000,000 bytes a second):
    the job runs at least 4 s, and the disk arrives whole."""
    a, b = hosts
    vm, image = vm_on(a, "paced", type="fixed")
    before = image.read_bytes()
    assert len(before) > 4 * MIB
    target = b.root / "paced" / "paced.vhd"
    job = migrate(a.conn, vm, "hostb", Bandwidth=Uint16(8), resources=[_placed(a, vm, target)])
    assert job["JobState"] == 7, job["ErrorDescription"]
    assert job["ElapsedTime"].timedelta >= timedelta(seconds=4), job["ElapsedTime"]
    assert target.read_bytes() == before


def test_the_service_compression_becomes_each_migrations_default(hosts):
    a, _ = hosts
    service = migration_service(a.conn)
    settings = a.conn.EnumerateInstances("Msvm_VirtualSystemMigrationServiceSettingData")[0]
    settings["EnableCompression"] = True
    assert a.conn.InvokeMethod("ModifyServiceSettings", service, ServiceSettingData=settings.tocimxmlstr())[0] == 0
    try:
        assert a.conn.EnumerateInstances("Msvm_VirtualSystemMigrationServiceSettingData")[0]["EnableCompression"] is True
        shown = {int(s["MigrationType"]): s["EnableCompression"] for s in a.conn.EnumerateInstances("Msvm_VirtualSystemMigrationSettingData")}
        assert shown == {32768: True, 32769: False, 32770: True, 32771: True}  # a storage move crosses no network
    finally:
        settings["EnableCompression"] = False
        assert a.conn.InvokeMethod("ModifyServiceSettings", service, ServiceSettingData=settings.tocimxmlstr())[0] == 0


@pytest.mark.parametrize(("name", "value", "code"), [
    ("EnableSmbTransport", True, 32770),
    ("AuthenticationType", Uint32(1), 32770),
    ("Description", "kept nowhere", 32770),
])
def test_a_service_setting_the_host_cannot_carry_out_is_refused_naming_it(hosts, name, value, code):
    a, _ = hosts
    service = migration_service(a.conn)
    settings = a.conn.EnumerateInstances("Msvm_VirtualSystemMigrationServiceSettingData")[0]
    settings["MaximumActiveVirtualSystemMigration"] = Uint32(3)
    settings[name] = value
    answer, out = a.conn.InvokeMethod("ModifyServiceSettings", service, ServiceSettingData=settings.tocimxmlstr())
    assert answer == code
    job = wait_job(a.conn, out["Job"])
    assert job["ErrorDescription"].startswith(f"{name}:"), job["ErrorDescription"]
    again = a.conn.EnumerateInstances("Msvm_VirtualSystemMigrationServiceSettingData")[0]
    assert again["MaximumActiveVirtualSystemMigration"] == 2 and again[name] != value  # nothing of it was applied


def test_a_storage_migration_refuses_network_settings(hosts):
    a, _ = hosts
    vm, image = vm_on(a, "stays")
    for name, value in (("DestinationIPAddressList", ["127.0.0.1"]), ("EnableCompression", True), ("Bandwidth", Uint16(100))):
        job = migrate(a.conn, vm, "hosta", MigrationType=Uint16(32769), resources=[_placed(a, vm, a.root / "elsewhere" / "stays.vhd")],
                      **{name: value})
        assert job["JobState"] == 10 and job["ErrorDescription"].startswith(f"{name}:"), job["ErrorDescription"]
        assert disk_paths(a.conn, vm) == [str(image)]


def _placed(host, vm, target):
    sasd = next(d for d in settings_of(host.conn, "Msvm_StorageAllocationSettingData", vm)
                if d["ResourceSubType"] == "Microsoft:Hyper-V:Virtual Hard Disk")
    sasd["HostResource"] = [str(target)]
    return sasd
