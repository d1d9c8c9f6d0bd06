"""Live migration between two KVM hosts on real QEMU: two libvirtd
instances on this machine (the suite's, and a second one the test starts
with its own host UUID and directories, reached over a UNIX socket), a
cimprovider server on each, and the tiny guest with a disk, running and
counting on its serial console. MigrateVirtualSystemToHost with the disk
placed in the destination's storage: libvirt moves the guest live, the
disk copied, persisted on the destination and undefined on the source;
the guest keeps counting (it never rebooted), the destination shows it
running, the source no longer has it nor its disk. Before that, a move
the destination refuses (a path outside its storage roots) and one its
hypervisor cannot take (a destination naming a URI nobody listens at,
after it made the empty image) leave the guest running on the source and
nothing on the destinations.

The same running guest offered to a simulated host is refused by the
check, naming both kinds (tests/integration/migration/test_checks.py
has the other way round)."""

from __future__ import annotations

from pathlib import Path

import libvirt
import pytest
from pywbem import Uint16

from migration_support import (
    RUNNING, assert_counts_on, counting_guest, move, move_watched, new_image, placed, storage_roots, ticks,
    two_hosts,
)
from qemu_host import Host, host, libvirtd_in_use, shared_host  # noqa: F401 (fixtures)
from tests.integration.migration.test_checks import check_to_host
from tests.integration.migration.two_hosts import exists
from tests.integration.model.hyperv import state


def test_a_running_guest_moves_live_with_its_disk_and_keeps_counting(host: Host, tmp_path: Path):
    a_root, b_root, wrong_root = storage_roots(host, "host-a", "host-b", "host-b-wrong")
    disk = new_image(a_root / "moving.qcow2")
    domain, console, vm = counting_guest(host, "migrating", disk)

    # hostb-wrong: the same libvirtd behind a server that names a hypervisor URI nobody listens at.
    with two_hosts(host, tmp_path, a_root, b_root, wrong_root=wrong_root, simulated=True) as hosts:
        a_conn, b_conn = hosts.a_conn, hosts.b_conn
        assert state(a_conn, vm) == RUNNING
        migratable, checked, _ = check_to_host(a_conn, vm, "hostc")
        assert not migratable and checked["JobState"] == 10
        assert "libvirt host" in checked["ErrorDescription"] and "simulated host" in checked["ErrorDescription"]

        # Refused by the destination (outside its storage roots), and
        # failed by the hypervisor after the destination made the
        # image: the guest runs on here, the destinations hold nothing.
        refused = move(a_conn, vm, placed(a_conn, vm, disk, a_root / "elsewhere.qcow2"))
        assert refused["JobState"] == 10 and "storage roots" in refused["ErrorDescription"], refused["ErrorDescription"]
        failed = move(a_conn, vm, placed(a_conn, vm, disk, wrong_root / "moving.qcow2"), "hostb-wrong")
        assert failed["JobState"] == 10 and "hypervisor could not move" in failed["ErrorDescription"], failed["ErrorDescription"]
        assert state(a_conn, vm) == RUNNING and domain.isActive() and disk.is_file()
        assert list(wrong_root.iterdir()) == [] and libvirt.open(hosts.b_uri).listAllDomains() == []
        # A cap the hypervisor cannot keep (it counts whole MiB/s) is refused before anything moves.
        slow = move(a_conn, vm, placed(a_conn, vm, disk, b_root / "slow.qcow2"), Bandwidth=Uint16(5))
        assert slow["JobState"] == 10 and slow["ErrorDescription"].startswith("Bandwidth: the hypervisor caps a move in "
                                                                              "whole MiB/s"), slow["ErrorDescription"]
        assert state(a_conn, vm) == RUNNING and list(b_root.iterdir()) == []

        target = b_root / "moved" / "moving.qcow2"
        before = ticks(console)[-1]
        # With a cap libvirt holds memory and the disk's copy to (800 Mbit/s: 95 MiB/s).
        job, shown = move_watched(hosts, vm, placed(a_conn, vm, disk, target), Bandwidth=Uint16(800))
        assert job["JobState"] == 7, job["ErrorDescription"]
        assert job["PercentComplete"] == 100
        # While it arrived the destination showed it paused at most, never off (3) or saved (6).
        assert shown and not {3, 6} & set(shown), shown

        # The destination has it, running, persisted; the source has neither it nor its disk.
        assert state(b_conn, vm) == RUNNING
        assert not exists(a_conn, vm)
        moved = hosts.on_b(domain)
        assert moved.isActive() and moved.isPersistent()
        with pytest.raises(libvirt.libvirtError):
            host.conn.lookupByUUIDString(domain.UUIDString())
        assert target.is_file() and not disk.exists()

        # It kept counting where it was: no reboot, no pause long enough to lose count.
        assert_counts_on(console, since=before, more=5)
        assert console.read_bytes().count(b"guest: ready") == 1
