"""An off KVM VM whose qcow2 disk was made on a base image (a backing
file in another folder, not a snapshot of ours) moves between two KVM
hosts with its parent: the base lands beside the placed disk, the disk
reads through it there (the base's bytes and the disk's own), its header
names the placed base, and the source keeps its base image (other VMs
may read it) but not the VM's disk. Running, it moves live the same way."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import libvirt
from pywbem import Uint16

import guest
from qemu_host import Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from second_libvirtd import second_libvirtd
from test_qemu_migration import ticks
from test_qemu_offline_migration import cim_name, placed, qemu_io, reads
from test_qemu_snapshot_migration import can_move
from tests.integration.migration.two_hosts import ADMIN, exists, migrate, write_peers, write_users
from tests.integration.model.hyperv import NS, state
from tests.support.live import in_process_server

OFF = 3


def reads_at(image: Path, byte: int, offset: str) -> bool:
    return subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"read -P {byte:#x} {offset} 1M", str(image)],
                          capture_output=True).returncode == 0


def test_an_off_vm_on_a_base_image_moves_with_its_parent(host: Host, tmp_path: Path):
    a_root, b_root = host.workdir / "chain-host-a", host.workdir / "chain-host-b"
    for folder in (a_root / "base", a_root / "vm", b_root):
        folder.mkdir(mode=0o755, parents=True)
    base, top = a_root / "base" / "base.qcow2", a_root / "vm" / "top.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "32M"], check=True)
    qemu_io(base, "write -P 0x5a 0 2M")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(top)], check=True)
    qemu_io(top, "write -P 0x33 1M 1M")
    name = f"{host.tag}-chained"
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(top, "qcow2")))
    vm = cim_name(domain)

    with second_libvirtd(host.tag) as b_uri:
        with in_process_server(tmp_path / "b-data", backend="libvirt", libvirt_uri=b_uri, libvirt_domain_type="qemu",
                               storage_roots=[b_root], users_file=write_users(tmp_path / "b-users.json"),
                               host_name="hostb") as b, \
             in_process_server(tmp_path / "a-data", backend="libvirt", libvirt_uri="qemu:///system",
                               libvirt_domain_type="qemu", storage_roots=[a_root],
                               peers_file=write_peers(tmp_path / "a-peers.toml", {"hostb": (b.url, ADMIN)}),
                               host_name="hosta") as a:
            a_conn, b_conn = a.connection(NS), b.connection(NS, creds=ADMIN)
            target = b_root / "moved" / "top.qcow2"
            job = migrate(a_conn, vm, "hostb", timeout=300, resources=[placed(a_conn, vm, top, target)],
                          MigrationType=Uint16(32771))
            assert job["JobState"] == 7, job["ErrorDescription"]
            assert state(b_conn, vm) == OFF and not exists(a_conn, vm)
            assert libvirt.open(b_uri).lookupByUUIDString(domain.UUIDString()).isPersistent()

            placed_base = b_root / "moved" / "base.qcow2"
            info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(target)],
                                             capture_output=True, text=True, check=True).stdout)
            assert info["backing-filename"] == str(placed_base) and info["backing-filename-format"] == "qcow2"
            assert reads(target, 0x5a) and reads_at(target, 0x33, "1M")
            assert not top.exists() and base.is_file()


def test_a_running_vm_on_a_base_image_moves_live_with_its_parent(host: Host, tmp_path: Path):
    """Running, the same disk on a base image moves live: the base travels
    as a file beside the placed disk, the disk is made on it there and
    libvirt copies only what the disk itself holds; the guest counts on,
    and the disk reads through the placed base on the destination."""
    a_root, b_root = host.workdir / "live-chain-host-a", host.workdir / "live-chain-host-b"
    for folder in (a_root / "base", a_root / "vm", b_root):
        folder.mkdir(mode=0o755, parents=True)
    base, top = a_root / "base" / "base.qcow2", a_root / "vm" / "top.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "32M"], check=True)
    qemu_io(base, "write -P 0x5a 0 2M")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(top)], check=True)
    qemu_io(top, "write -P 0x33 1M 1M")
    name = f"{host.tag}-live-chained"
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(top, "qcow2"), console_append=True))
    domain.create()
    console = host.console(domain)
    wait_for_console(console, r"guest: tick 3\b")
    vm = cim_name(domain)

    with second_libvirtd(host.tag) as b_uri:
        with in_process_server(tmp_path / "b-data", backend="libvirt", libvirt_uri=b_uri, libvirt_domain_type="qemu",
                               storage_roots=[b_root], users_file=write_users(tmp_path / "b-users.json"),
                               host_name="hostb") as b, \
             in_process_server(tmp_path / "a-data", backend="libvirt", libvirt_uri="qemu:///system",
                               libvirt_domain_type="qemu", storage_roots=[a_root],
                               peers_file=write_peers(tmp_path / "a-peers.toml", {"hostb": (b.url, ADMIN)}),
                               host_name="hosta") as a:
            a_conn, b_conn = a.connection(NS), b.connection(NS, creds=ADMIN)
            target = b_root / "moved" / "top.qcow2"
            job = migrate(a_conn, vm, "hostb", timeout=300, resources=[placed(a_conn, vm, top, target)],
                          MigrationType=Uint16(32771))
            assert job["JobState"] == 7, job["ErrorDescription"]
            assert state(b_conn, vm) == 2 and not exists(a_conn, vm)
            assert libvirt.open(b_uri).lookupByUUIDString(domain.UUIDString()).isActive()

            placed_base = b_root / "moved" / "base.qcow2"
            info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", str(target)],
                                             capture_output=True, text=True, check=True).stdout)
            assert info["backing-filename"] == str(placed_base), info
            assert shared_reads(target, 0x5a, "0") and shared_reads(target, 0x33, "1M")
            assert not top.exists() and base.is_file()
            counted = ticks(console)
            wait_for_console(console, rf"guest: tick {counted[-1] + 3}\b", after=0)
            counted = ticks(console)
            assert counted == list(range(1, len(counted) + 1)), counted


def shared_reads(image: Path, byte: int, offset: str) -> bool:
    """Whether 1 MiB of the image at `offset` holds `byte`, read while a guest runs on it."""
    return subprocess.run(["qemu-io", "-U", "-r", "-f", "qcow2", "-c", f"read -P {byte:#x} {offset} 1M", str(image)],
                          capture_output=True).returncode == 0


def test_a_running_vm_whose_base_lies_outside_the_roots_is_refused_naming_it(host: Host, tmp_path: Path):
    """The source confines what a disk reads through before it reads it: a
    base image outside its storage roots is neither read nor sent, and the
    check and the move say so, naming it; the VM runs on where it was."""
    a_root, b_root, elsewhere = (host.workdir / n for n in ("out-chain-host-a", "out-chain-host-b", "out-chain-elsewhere"))
    for folder in (a_root, b_root, elsewhere):
        folder.mkdir(mode=0o755)
    base, top = elsewhere / "base.qcow2", a_root / "top.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "32M"], check=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(top)], check=True)
    name = f"{host.tag}-outside-chained"
    host.domains.append(name)
    domain = host.conn.defineXML(guest.domain_xml(name, host.workdir, host.initrd, disk=(top, "qcow2"), console_append=True))
    domain.create()
    wait_for_console(host.console(domain), r"guest: tick 1\b")
    vm = cim_name(domain)

    with second_libvirtd(host.tag) as b_uri:
        with in_process_server(tmp_path / "b-data", backend="libvirt", libvirt_uri=b_uri, libvirt_domain_type="qemu",
                               storage_roots=[b_root], users_file=write_users(tmp_path / "b-users.json"),
                               host_name="hostb") as b, \
             in_process_server(tmp_path / "a-data", backend="libvirt", libvirt_uri="qemu:///system",
                               libvirt_domain_type="qemu", storage_roots=[a_root],
                               peers_file=write_peers(tmp_path / "a-peers.toml", {"hostb": (b.url, ADMIN)}),
                               host_name="hosta") as a:
            a_conn = a.connection(NS)
            sasd = placed(a_conn, vm, top, b_root / "top.qcow2")
            movable, checked = can_move(a_conn, vm, "hostb", sasd)
            assert not movable and str(base) in checked["ErrorDescription"], checked["ErrorDescription"]
            assert "storage roots" in checked["ErrorDescription"]
            job = migrate(a_conn, vm, "hostb", timeout=300, resources=[sasd], MigrationType=Uint16(32771))
            assert job["JobState"] == 10 and str(base) in job["ErrorDescription"], job["ErrorDescription"]
            assert state(a_conn, vm) == 2 and domain.isActive()
            assert list(b_root.iterdir()) == [] and libvirt.open(b_uri).listAllDomains() == []
