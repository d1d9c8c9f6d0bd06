"""Tier 2: a destination `cimprovider serve` killed (-9) while a saved
guest arrives, after it defined the VM and before it saved it again. The
restarted destination finds the VM defined but not saved (its memory not
restored): not as it left the source, so it is released with the files
it brought, and the source keeps the VM. The source, restarted, settles
the migration: the VM is still its own, Saved, and started it counts on
from where it was saved. Nothing of it stays on the destination: not in
libvirt, not over CIM, no file.

The seam: the destination's libvirtd runs a qemu hook that holds the
restore of the memory image at its first step (libvirt waits for the
hook, the domain already defined) until the server is killed, then fails
it, as a restore cut short does."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import libvirt
import pywbem
from pywbem import CIMInstanceName, Uint16

from qemu_host import Host, host, libvirtd_in_use, shared_host  # noqa: F401 (fixtures)
from migration_support import assert_counts_on, cim_name, guest_file_paths, new_guest, placed, start_counting, ticks
from second_libvirtd import save_dir, second_libvirtd
from tests.integration.migration.two_hosts import (
    ADMIN, exists, migration_service, migration_setting, wait_until, write_peers, write_users,
)
from tests.integration.model.hyperv import NS, request_state, state, wait_job
from tests.support.live import LiveServer, ServeProcess, in_process_server, serve_process

SAVED, RUNNING, EXCEPTION = 6, 2, 10
HOOK_SECONDS = 300

# Holds the first start of a guest it is armed for (the restore of the
# arriving VM's memory) until released, then fails it.
HOOK = """#!/bin/sh
cat > /dev/null
dir={dir}
[ "$2" = prepare ] && [ -e "$dir/armed" ] || exit 0
rm -f "$dir/armed"
touch "$dir/holding"
n=0
while [ ! -e "$dir/release" ] && [ $n -lt {ticks} ]; do sleep 0.1; n=$((n + 1)); done
touch "$dir/failed"
exit 1
"""


def test_a_destination_killed_before_the_arriving_vm_is_saved_leaves_it_saved_on_the_source(host: Host, tmp_path: Path):
    a_root, b_root = host.workdir / "killed-a", host.workdir / "killed-b"
    seam = host.workdir / "arrival-seam"  # where the hook and the test meet
    for folder in (a_root, b_root, seam):
        folder.mkdir(mode=0o755, parents=True)
    domain, disk = new_guest(host, a_root, "killed-arrival")
    console = start_counting(host, domain)
    vm = cim_name(domain)

    with second_libvirtd(host.tag, HOOK.format(dir=seam, ticks=HOOK_SECONDS * 10)) as b_uri:
        b_save_dir = save_dir(host.tag)
        b_args = ("--port", "0", "--data-dir", str(tmp_path / "b-data"), "--backend", "libvirt", "--libvirt-uri", b_uri,
                  "--libvirt-domain-type", "qemu", "--libvirt-save-dir", str(b_save_dir), "--storage-root", str(b_root),
                  "--users-file", str(write_users(tmp_path / "b-users.json")), "--host-name", "hostb",
                  *(arg for path in guest_file_paths(host) for arg in ("--migration-host-path", str(path))))
        b_libvirt = libvirt.open(b_uri)
        try:
            with serve_process(*b_args) as b, source(tmp_path, a_root, b) as a:
                a_conn = a.connection(NS)
                assert request_state(a_conn, vm, SAVED)[0] in (0, 4096) and state(a_conn, vm) == SAVED
                last = ticks(console)[-1]
                (seam / "armed").touch()
                job = start_migration(a_conn, vm, placed(a_conn, vm, disk, b_root / "killed-arrival.qcow2"))
                wait_until(lambda: (seam / "holding").exists(), "restoring on the destination", timeout=HOOK_SECONDS)
                assert b.stop(signal.SIGKILL) == -signal.SIGKILL
                (seam / "release").touch()
                finished = wait_job(a_conn, job, HOOK_SECONDS)
                assert finished["JobState"] == EXCEPTION, finished["ErrorDescription"]
            # libvirt locks the domain while the hook holds it: it is read once the restore failed.
            wait_until(lambda: (seam / "failed").exists(), "the held restore failed", timeout=HOOK_SECONDS)
            arriving = b_libvirt.lookupByUUIDString(domain.UUIDString())
            assert arriving.isPersistent() and not arriving.isActive() and not arriving.hasManagedSaveImage(0)

            with serve_process(*b_args) as b:
                b_conn = pywbem.WBEMConnection(b.url, ADMIN, default_namespace=NS, timeout=30)
                assert not exists(b_conn, vm), "the destination kept the half-made VM"
                assert b_libvirt.listAllDomains() == []
                assert [p for p in b_root.rglob("*") if p.is_file()] == []
                assert not (b_save_dir / f"{domain.name()}.save").exists()

                with source(tmp_path, a_root, b) as a:
                    a_conn = a.connection(NS)
                    wait_until(lambda: migratable(a_conn, vm, placed(a_conn, vm, disk, b_root / "again.qcow2")),
                               "migratable again (the cut-short migration settled)", timeout=120)
                    assert not exists(b_conn, vm) and b_libvirt.listAllDomains() == []
                    assert state(a_conn, vm) == SAVED and domain.hasManagedSaveImage(0) and disk.is_file()
                    assert request_state(a_conn, vm, RUNNING)[0] in (0, 4096) and state(a_conn, vm) == RUNNING
        finally:
            (seam / "release").touch()
    assert_counts_on(console, since=last)
    assert console.read_bytes().count(b"guest: ready") == 1


@contextmanager
def source(tmp_path: Path, root: Path, destination: ServeProcess) -> Iterator[LiveServer]:
    """The source host, its peers file naming the destination where it listens now."""
    peers = write_peers(tmp_path / "a-peers.toml", {"hostb": (destination.url, ADMIN)})
    with in_process_server(tmp_path / "a-data", backend="libvirt", libvirt_uri="qemu:///system",
                           libvirt_domain_type="qemu", storage_roots=[root], peers_file=peers,
                           host_name="hosta") as live:
        yield live


def start_migration(conn: pywbem.WBEMConnection, vm: CIMInstanceName, disk: pywbem.CIMInstance) -> CIMInstanceName:
    code, out = conn.InvokeMethod("MigrateVirtualSystemToHost", migration_service(conn), ComputerSystem=vm,
                                  DestinationHost="hostb", MigrationSettingData=migration_setting(conn).tocimxmlstr(),
                                  NewResourceSettingData=[disk.tocimxmlstr()])
    assert int(code) == 4096, code
    return out["Job"]


def migratable(conn: pywbem.WBEMConnection, vm: CIMInstanceName, disk: pywbem.CIMInstance) -> bool:
    """Whether the check to the destination passes: the source holds no
    migration of the VM, and the destination no VM, record or file of it."""
    code, out = conn.InvokeMethod("CheckVirtualSystemIsMigratableToHost", migration_service(conn), ComputerSystem=vm,
                                  DestinationHost="hostb", MigrationSettingData=migration_setting(conn).tocimxmlstr(),
                                  NewResourceSettingData=[disk.tocimxmlstr()])
    assert int(code) == 4096, code
    return wait_job(conn, out["Job"])["JobState"] == 7
