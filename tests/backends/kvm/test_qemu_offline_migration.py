"""Off and saved VMs between two KVM hosts on real QEMU (libvirt copies no
storage offline, so they travel as files over the upload channel): two
libvirtd instances on this machine (the suite's, and a second one the test
starts), a cimprovider server on each.

An off VM arrives off, defined on the destination's libvirt with its disk
where NewResourceSettingData puts it, byte for byte, and its snapshot
(inside the qcow2 disk) with it: applied there, the disk reads as it did
when the snapshot was taken. The source has neither the VM nor the disk. A saved counting guest arrives saved, with
its memory, and started there counts on from where it was saved. Then
`cimprovider vm move --quick` takes it back while it runs (save, move,
restore): it runs on the first host again and never rebooted."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import libvirt
from click.testing import CliRunner
from pywbem import CIMInstanceName, Uint16

import guest
from qemu_host import Host, host, libvirtd_in_use, shared_host, wait_for_console  # noqa: F401 (fixtures)
from second_libvirtd import STATE, second_libvirtd
from test_qemu_migration import ticks
from cimprovider.cli.main import cli
from tests.integration.migration.two_hosts import ADMIN, exists, migrate, wait_until, write_peers, write_users
from tests.integration.model.hyperv import NS, request_state, settings_of, state, wait_job
from tests.integration.storage.snapshots_client import snapshot_service, take
from tests.support.live import in_process_server

OFF, SAVED, RUNNING = 3, 6, 2


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def new_guest(host: Host, root: Path, suffix: str) -> tuple[libvirt.virDomain, Path]:
    disk = root / f"{suffix}.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "32M"], check=True)
    # Something in the image, so the copy is checked against real bytes.
    qemu_io(disk, "write -P 0x5a 0 1M")
    name = f"{host.tag}-{suffix}"
    host.domains.append(name)
    xml = guest.domain_xml(name, host.workdir, host.initrd, disk=(disk, "qcow2"), console_append=True)
    return host.conn.defineXML(xml), disk


def qemu_io(image: Path, command: str) -> None:
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", command, str(image)], check=True, capture_output=True)


def reads(image: Path, byte: int) -> bool:
    """Whether the image's first MiB holds `byte` throughout."""
    return subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"read -P {byte:#x} 0 1M", str(image)],
                          capture_output=True).returncode == 0


def cim_name(domain: libvirt.virDomain) -> CIMInstanceName:
    return CIMInstanceName("Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem",
                                                   "Name": domain.UUIDString().upper()}, namespace=NS)


def placed(conn, vm: CIMInstanceName, disk: Path, target: Path):
    sasd = next(s for s in settings_of(conn, "Msvm_StorageAllocationSettingData", vm) if s["HostResource"] == [str(disk)])
    sasd["HostResource"] = [str(target)]
    return sasd


def run_cli(url: str, *args: str):
    environment = {k: None for k in os.environ if k.startswith("CIMPROVIDER_")}
    environment.update({"CIMPROVIDER_SERVER": url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull,
                        "CIMPROVIDER_USER": ADMIN[0], "CIMPROVIDER_PASSWORD": ADMIN[1]})
    return CliRunner(mix_stderr=False).invoke(cli, list(args), env=environment, catch_exceptions=False)


def test_off_and_saved_guests_move_as_files_and_quick_migration_resumes_the_count(host: Host, tmp_path: Path):
    a_root, b_root = host.workdir / "quick-host-a", host.workdir / "quick-host-b"
    for root in (a_root, b_root):
        root.mkdir(mode=0o755)
    off, off_disk = new_guest(host, a_root, "off")
    counting, disk = new_guest(host, a_root, "counting")
    counting.create()
    console = host.console(counting)
    wait_for_console(console, r"guest: tick 3\b")
    off_vm, vm = cim_name(off), cim_name(counting)

    with second_libvirtd(host.tag) as b_uri:
        b_save_dir = STATE / f"{host.tag}-second-libvirtd" / "lib" / "qemu" / "save"
        with in_process_server(tmp_path / "b-data", backend="libvirt", libvirt_uri=b_uri, libvirt_domain_type="qemu",
                               libvirt_save_dir=b_save_dir, storage_roots=[b_root],
                               users_file=write_users(tmp_path / "b-users.json"), host_name="hostb") as b, \
             in_process_server(tmp_path / "a-data", backend="libvirt", libvirt_uri="qemu:///system",
                               libvirt_domain_type="qemu", storage_roots=[a_root],
                               peers_file=write_peers(tmp_path / "a-peers.toml", {"hostb": (b.url, ADMIN)}),
                               host_name="hosta") as a:
            a_conn, b_conn = a.connection(NS), b.connection(NS, creds=ADMIN)
            b_libvirt = libvirt.open(b_uri)

            # Off, with a snapshot taken before the disk changed: defined on
            # the destination, off, its disk copied byte for byte, the snapshot along.
            snapshot = take(a_conn, off_vm)
            a_snapshot_name = a_conn.GetInstance(snapshot)["ElementName"]
            qemu_io(off_disk, "write -P 0x33 0 1M")
            off_sum = sha256(off_disk)
            # Refused by the destination (a path outside its storage roots):
            # the VM stays here, off, with its disk; the destination has nothing.
            refused = migrate(a_conn, off_vm, "hostb", timeout=300,
                              resources=[placed(a_conn, off_vm, off_disk, a_root / "elsewhere.qcow2")],
                              MigrationType=Uint16(32771))
            assert refused["JobState"] == 10 and "storage roots" in refused["ErrorDescription"], refused["ErrorDescription"]
            assert state(a_conn, off_vm) == OFF and sha256(off_disk) == off_sum
            assert b_libvirt.listAllDomains() == [] and list(b_root.iterdir()) == []
            target = b_root / "off" / "off.qcow2"
            job = migrate(a_conn, off_vm, "hostb", timeout=300, resources=[placed(a_conn, off_vm, off_disk, target)],
                          MigrationType=Uint16(32771))
            assert job["JobState"] == 7, job["ErrorDescription"]
            assert state(b_conn, off_vm) == OFF and not exists(a_conn, off_vm)
            arrived = b_libvirt.lookupByUUIDString(off.UUIDString())
            assert arrived.isPersistent() and not arrived.isActive()
            assert target.is_file() and sha256(target) == off_sum and not off_disk.exists()
            assert arrived.snapshotNum(0) == 1 and arrived.hasCurrentSnapshot(0)
            assert b_conn.GetInstance(snapshot)["ElementName"] == a_snapshot_name
            assert reads(target, 0x33)
            code, out = b_conn.InvokeMethod("ApplySnapshot", snapshot_service(b_conn), Snapshot=snapshot)
            if code == 4096:
                assert wait_job(b_conn, out["Job"], 300)["JobState"] == 7
            else:
                assert code == 0
            assert reads(target, 0x5a)

            # Saved: arrives saved with its memory, and counts on once started there.
            assert request_state(a_conn, vm, SAVED)[0] in (0, 4096) and state(a_conn, vm) == SAVED
            last = ticks(console)[-1]
            target = b_root / "saved" / "counting.qcow2"
            job = migrate(a_conn, vm, "hostb", timeout=300, resources=[placed(a_conn, vm, disk, target)],
                          MigrationType=Uint16(32771))
            assert job["JobState"] == 7, job["ErrorDescription"]
            assert state(b_conn, vm) == SAVED and not exists(a_conn, vm)
            assert b_libvirt.lookupByUUIDString(counting.UUIDString()).hasManagedSaveImage(0)
            assert sorted(p.name for p in target.parent.iterdir()) == ["counting.qcow2"] and not disk.exists()
            assert request_state(b_conn, vm, RUNNING)[0] in (0, 4096) and state(b_conn, vm) == RUNNING
            wait_for_console(console, rf"guest: tick {last + 3}\b", after=0)

            # Quick migration back while it runs (the first host by its URL, as
            # it signs no one in): saved, moved, restored; it runs there again.
            result = run_cli(b.url, "vm", "move", counting.name(), "--to", a.url, "--quick",
                             "--storage-path", str(a_root / "back"))
            assert result.exit_code == 0, result.stderr
            assert state(a_conn, vm) == RUNNING and not exists(b_conn, vm)
            wait_until(lambda: host.conn.lookupByUUIDString(counting.UUIDString()).isActive(), "running on the first host")
            assert (a_root / "back" / "counting.qcow2").is_file() and not target.exists()
            last = ticks(console)[-1]
            wait_for_console(console, rf"guest: tick {last + 3}\b", after=0)
            counted = ticks(console)
            assert counted == list(range(1, len(counted) + 1)), counted
            assert console.read_bytes().count(b"guest: ready") == 1
