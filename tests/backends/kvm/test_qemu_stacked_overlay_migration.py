"""An off KVM VM whose external snapshots are stacked (taken with virsh,
disk only: the raw disk frozen under one overlay, that overlay frozen
under another) moves to another KVM host as files, on real QEMU with two
libvirtd instances. The lower overlay is a qcow2 another file reads
through, but a snapshot names it: it is the VM's, not a base image other
VMs may share, so it leaves the source with the VM and no file of the VM
is left there."""

from __future__ import annotations

from pathlib import Path

from migration_support import (
    OFF, backing_of, cim_name, current_disk, guest_on, move, new_image, placed, reads, snapshots_by_id,
    storage_roots, two_hosts, write,
)
from qemu_host import Host, host, libvirtd_in_use, shared_host  # noqa: F401 (fixtures)
from tests.integration.migration.two_hosts import exists
from tests.integration.model.hyperv import state

DISK_ONLY = 0x10  # VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY


def virsh_snapshot(domain, name: str, overlay: Path) -> None:
    """What `virsh snapshot-create-as --disk-only --diskspec sda,file=…` does."""
    domain.snapshotCreateXML(f"<domainsnapshot><name>{name}</name><disks><disk name='sda' snapshot='external'>"
                             f"<driver type='qcow2'/><source file='{overlay}'/></disk></disks></domainsnapshot>", DISK_ONLY)


def test_an_off_vm_with_stacked_external_snapshots_leaves_no_file_on_the_source(host: Host, tmp_path: Path):
    a_root, b_root = storage_roots(host, "stacked-host-a", "stacked-host-b")
    disk, lower, upper = a_root / "plain.raw", a_root / "plain-lower.qcow2", a_root / "plain-upper.qcow2"
    new_image(disk, "raw")
    write(disk, "raw", 0x11)
    domain = guest_on(host, "stacked-overlays", disk, "raw")
    virsh_snapshot(domain, "lower", lower)
    virsh_snapshot(domain, "upper", upper)
    assert current_disk(domain) == upper and backing_of(upper) == str(lower)
    write(upper, "qcow2", 0x33)
    vm = cim_name(domain)

    with two_hosts(host, tmp_path, a_root, b_root) as hosts:
        a_conn, b_conn = hosts.a_conn, hosts.b_conn
        target = b_root / "moved" / upper.name
        job = move(a_conn, vm, placed(a_conn, vm, upper, target))
        assert job["JobState"] == 7, job["ErrorDescription"]
        assert state(b_conn, vm) == OFF and not exists(a_conn, vm)
        moved = target.parent
        assert sorted(p.name for p in moved.iterdir()) == sorted([disk.name, lower.name, upper.name])
        assert backing_of(target) == str(moved / lower.name) and backing_of(moved / lower.name) == str(moved / disk.name)
        assert reads(target, 0x33) and len(snapshots_by_id(b_conn, vm)) == 2
        assert list(a_root.iterdir()) == [], "a file of the VM was left on the source"
