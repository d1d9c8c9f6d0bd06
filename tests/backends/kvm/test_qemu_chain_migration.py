"""An off KVM VM whose qcow2 disk was made on a base image (a backing
file in another folder, not a snapshot of ours) moves between two KVM
hosts with its parent: the base lands beside the placed disk, the disk
reads through it there (the base's bytes and the disk's own), its header
names the placed base, and the source keeps its base image (other VMs
may read it) but not the VM's disk. Running, it moves live the same way."""

from __future__ import annotations

from pathlib import Path

import libvirt
from pywbem import CIMInstanceName

from migration_support import (
    OFF, RUNNING, TwoHosts, assert_counts_on, can_move, cim_name, counting_guest, guest_on, image_info, move,
    new_image, placed, qemu_io, reads, storage_roots, two_hosts,
)
from qemu_host import Host, host, libvirtd_in_use, shared_host  # noqa: F401 (fixtures)
from tests.integration.migration.two_hosts import exists
from tests.integration.model.hyperv import state


def disk_on_a_base(a_root: Path) -> tuple[Path, Path]:
    """A qcow2 disk in a_root/vm on a base image in a_root/base: the base
    holds 0x5a in its first 2 MiB, the disk 0x33 in the second: (base, disk)."""
    for folder in (a_root / "base", a_root / "vm"):
        folder.mkdir(mode=0o755)
    base = new_image(a_root / "base" / "base.qcow2")
    qemu_io(base, "write -P 0x5a 0 2M")
    top = new_image(a_root / "vm" / "top.qcow2", backing=base)
    qemu_io(top, "write -P 0x33 1M 1M")
    return base, top


def moved_to_b(hosts: TwoHosts, vm: CIMInstanceName, top: Path, b_root: Path) -> tuple[Path, Path]:
    """The VM moved to hostb, its disk placed in b_root/moved: (where the
    disk is placed, where its base should land beside it)."""
    target = b_root / "moved" / "top.qcow2"
    job = move(hosts.a_conn, vm, placed(hosts.a_conn, vm, top, target))
    assert job["JobState"] == 7, job["ErrorDescription"]
    return target, b_root / "moved" / "base.qcow2"


def test_an_off_vm_on_a_base_image_moves_with_its_parent(host: Host, tmp_path: Path):
    a_root, b_root = storage_roots(host, "chain-host-a", "chain-host-b")
    base, top = disk_on_a_base(a_root)
    domain = guest_on(host, "chained", top)
    vm = cim_name(domain)

    with two_hosts(host, tmp_path, a_root, b_root) as hosts:
        target, placed_base = moved_to_b(hosts, vm, top, b_root)
        assert state(hosts.b_conn, vm) == OFF and not exists(hosts.a_conn, vm)
        assert hosts.on_b(domain).isPersistent()

        info = image_info(target)
        assert info["backing-filename"] == str(placed_base) and info["backing-filename-format"] == "qcow2"
        assert reads(target, 0x5a) and reads(target, 0x33, "1M")
        assert not top.exists() and base.is_file()


def test_a_running_vm_on_a_base_image_moves_live_with_its_parent(host: Host, tmp_path: Path):
    """Running, the same disk on a base image moves live: the base travels
    as a file beside the placed disk, the disk is made on it there and
    libvirt copies only what the disk itself holds; the guest counts on,
    and the disk reads through the placed base on the destination."""
    a_root, b_root = storage_roots(host, "live-chain-host-a", "live-chain-host-b")
    base, top = disk_on_a_base(a_root)
    domain, console, vm = counting_guest(host, "live-chained", top)

    with two_hosts(host, tmp_path, a_root, b_root) as hosts:
        target, placed_base = moved_to_b(hosts, vm, top, b_root)
        assert state(hosts.b_conn, vm) == RUNNING and not exists(hosts.a_conn, vm)
        assert hosts.on_b(domain).isActive()

        info = image_info(target, shared=True)
        assert info["backing-filename"] == str(placed_base), info
        assert reads(target, 0x5a, "0", shared=True) and reads(target, 0x33, "1M", shared=True)
        assert not top.exists() and base.is_file()
        assert_counts_on(console)


def test_a_running_vm_whose_base_lies_outside_the_roots_is_refused_naming_it(host: Host, tmp_path: Path):
    """The source confines what a disk reads through before it reads it: a
    base image outside its storage roots is neither read nor sent, and the
    check and the move say so, naming it; the VM runs on where it was."""
    a_root, b_root, elsewhere = storage_roots(host, "out-chain-host-a", "out-chain-host-b", "out-chain-elsewhere")
    base = new_image(elsewhere / "base.qcow2")
    top = new_image(a_root / "top.qcow2", backing=base)
    domain, _, vm = counting_guest(host, "outside-chained", top, ticks=1)

    with two_hosts(host, tmp_path, a_root, b_root) as hosts:
        a_conn = hosts.a_conn
        sasd = placed(a_conn, vm, top, b_root / "top.qcow2")
        movable, checked = can_move(a_conn, vm, "hostb", sasd)
        assert not movable and str(base) in checked["ErrorDescription"], checked["ErrorDescription"]
        assert "storage roots" in checked["ErrorDescription"]
        job = move(a_conn, vm, sasd)
        assert job["JobState"] == 10 and str(base) in job["ErrorDescription"], job["ErrorDescription"]
        assert state(a_conn, vm) == RUNNING and domain.isActive()
        assert list(b_root.iterdir()) == [] and libvirt.open(hosts.b_uri).listAllDomains() == []
