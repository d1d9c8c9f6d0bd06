"""Storage migration of a running guest on one KVM host, on real QEMU:
`cimprovider vm move-storage` (MigrationType 32769) has libvirt copy the
counting guest's disk into a new folder while it runs and switch the
guest over; it keeps counting (no reboot), its HostResource names the new
file, its persistent definition too, and the old file is gone. A guest
with an internal snapshot moves with it: the snapshot is still listed,
describes the new file, and applied afterwards brings back its tick."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner
from lxml import etree

from migration_support import (
    RUNNING, SAVED, assert_counts_on, change_state, counting_guest, new_image, resumed_from, snapshots_of,
    take_while_counting,
)
from qemu_host import Host, host, libvirtd_in_use, shared_host  # noqa: F401 (fixtures)
from cimprovider.cli.main import cli
from tests.integration.model.hyperv import NS, settings_of, state
from tests.support.live import in_process_server


def test_a_running_guests_disk_moves_to_a_new_folder_and_it_keeps_counting(host: Host, tmp_path: Path):
    root, disk = _counted_disk(host, "storage-moving")
    domain, console, vm = counting_guest(host, "storage-moving", disk)

    with in_process_server(tmp_path / "data", backend="libvirt", libvirt_uri="qemu:///system",
                           libvirt_domain_type="qemu", storage_roots=[root]) as server:
        conn = server.connection(NS)
        _move_storage(server.url, domain.name(), root / "new")
        moved = root / "new" / "counted.qcow2"
        assert state(conn, vm) == RUNNING and domain.isActive()
        disks = [s["HostResource"] for s in settings_of(conn, "Msvm_StorageAllocationSettingData", vm)]
        assert [str(moved)] in disks and [str(disk)] not in disks
        assert moved.is_file() and not disk.exists()
        persistent = etree.fromstring(domain.XMLDesc(0x2))  # VIR_DOMAIN_XML_INACTIVE
        assert [s.get("file") for s in persistent.iterfind("devices/disk/source")] == [str(moved)]

    # It kept counting on its new disk: no reboot.
    assert_counts_on(console)
    assert console.read_bytes().count(b"guest: ready") == 1


def test_a_running_guest_with_an_internal_snapshot_moves_its_storage_and_keeps_the_snapshot(host: Host, tmp_path: Path):
    root, disk = _counted_disk(host, "storage-snapshot")
    domain, console, vm = counting_guest(host, "storage-snapshot", disk)
    moved = root / "new" / "counted.qcow2"

    with in_process_server(tmp_path / "data", backend="libvirt", libvirt_uri="qemu:///system",
                           libvirt_domain_type="qemu", storage_roots=[root]) as server:
        conn = server.connection(NS)
        taken = take_while_counting(conn, vm, console)
        snapshot = conn.GetInstance(taken.snapshot)["ElementName"]

        _move_storage(server.url, domain.name(), root / "new")
        assert state(conn, vm) == RUNNING and domain.isActive()
        assert list(snapshots_of(conn, vm)) == [snapshot]
        disks = [s["HostResource"] for s in settings_of(conn, "Msvm_StorageAllocationSettingData", vm)]
        assert [str(moved)] in disks and [str(disk)] not in disks
        assert moved.is_file() and not disk.exists()
        [kept] = domain.listAllSnapshots(0)
        described = etree.fromstring(kept.getXMLDesc(0))
        assert [s.get("file") for s in described.iterfind("domain/devices/disk/source")] == [str(moved)]
        assert_counts_on(console)

        # Applied (saved first, as Hyper-V asks), the snapshot in the moved
        # file brings back the guest's memory and disk: it counts again from its tick.
        change_state(conn, vm, SAVED)
        resumed, last = resumed_from(conn, vm, snapshots_of(conn, vm)[snapshot].path, console)
        assert taken.before < resumed <= taken.after + 1 < last, (taken.before, resumed, taken.after, last)
        assert console.read_bytes().count(b"guest: ready") == 1


def _counted_disk(host: Host, label: str) -> tuple[Path, Path]:
    """A storage root with an empty qcow2 for the counting guest, in its folder 'old'."""
    root = host.workdir / label
    root.mkdir(mode=0o755)
    disk = root / "old" / "counted.qcow2"
    disk.parent.mkdir(mode=0o755)
    return root, new_image(disk)


def _move_storage(url: str, name: str, folder: Path) -> None:
    """`cimprovider vm move-storage`, as an administrator types it."""
    environment = {k: None for k in os.environ if k.startswith("CIMPROVIDER_")}
    environment.update({"CIMPROVIDER_SERVER": url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull})
    result = CliRunner(mix_stderr=False).invoke(cli, ["vm", "move-storage", name, str(folder)],
                                                env=environment, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
