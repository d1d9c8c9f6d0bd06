"""Faults between two real `cimprovider serve` processes on loopback:
whichever side is killed (-9) in the middle of a migration, after a
restart exactly one host owns the VM, in its original state, and no disk
is lost or left half-copied on either side."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pywbem

from tests.integration.migration.two_hosts import ADMIN, exists, migration_service, migration_setting, wait_until, write_peers, write_users
from tests.integration.model.hyperv import NS, request_state, settings_of, state, wait_job
from tests.integration.storage.test_kill_during_job import big_source
from tests.integration.storage.vm_client import vm_with_disk
from tests.support.live import ServeProcess, serve_process


@contextmanager
def serve_host(base: Path, name: str, *extra: str) -> Iterator[ServeProcess]:
    args = ["--port", "0", "--data-dir", str(base / f"{name}-data"), "--storage-root", str(base / f"{name}-storage"),
            "--host-name", name, *extra]
    with serve_process(*args) as process:
        yield process


def connect(process: ServeProcess, creds=None) -> pywbem.WBEMConnection:
    return pywbem.WBEMConnection(process.url, creds, default_namespace=NS, timeout=30)


def partials(root: Path) -> list[Path]:
    return list(root.rglob("*.migrating"))


def start_migration(conn: pywbem.WBEMConnection, vm, target: Path) -> pywbem.CIMInstanceName:
    sasd = next(d for d in settings_of(conn, "Msvm_StorageAllocationSettingData", vm))
    sasd["HostResource"] = [str(target)]
    code, out = conn.InvokeMethod("MigrateVirtualSystemToHost", migration_service(conn), ComputerSystem=vm,
                                  DestinationHost="hostb", MigrationSettingData=migration_setting(conn).tocimxmlstr(),
                                  NewResourceSettingData=[sasd.tocimxmlstr()])
    assert int(code) == 4096
    return out["Job"]


def running_vm_with_big_disk(conn: pywbem.WBEMConnection, root: Path, name: str):
    image = root / name / f"{name}.vhd"
    image.parent.mkdir(parents=True)
    big_source(image)
    vm = vm_with_disk(conn, name, image)
    assert request_state(conn, vm, 2)[0] == 4096
    return vm, image


@contextmanager
def source_and_destination(base: Path) -> Iterator[tuple[ServeProcess, ServeProcess, Path, Path]]:
    """hostb (which signs its clients in) and hosta (whose peers file names
    it) as `cimprovider serve` processes; with the users and peers files,
    to start either again."""
    users = write_users(base / "b-users.json")
    with serve_host(base, "hostb", "--users-file", str(users)) as b:
        peers = write_peers(base / "a-peers.toml", {"hostb": (b.url, ADMIN)})
        with serve_host(base, "hosta", "--peers", str(peers)) as a:
            yield a, b, users, peers


def uploading(conn: pywbem.WBEMConnection, base: Path, name: str):
    """A running VM whose big disk is on its way to hostb: (VM, image, the
    image's bytes before, job)."""
    vm, image = running_vm_with_big_disk(conn, base / "hosta-storage", name)
    before = image.read_bytes()
    job = start_migration(conn, vm, base / "hostb-storage" / name / f"{name}.vhd")
    wait_until(lambda: any(p.stat().st_size > 0 for p in partials(base / "hostb-storage")), "uploading")
    return vm, image, before, job


def test_destination_killed_mid_way_leaves_the_vm_running_on_the_source_and_nothing_on_the_destination(tmp_path: Path):
    with source_and_destination(tmp_path) as (a, b, users, _peers):
        conn = connect(a)
        vm, image, before, job = uploading(conn, tmp_path, "victim")
        b.stop(signal.SIGKILL)
        finished = wait_job(conn, job, timeout=60)
        assert finished["JobState"] == 10
        assert "destination" in finished["ErrorDescription"]
        assert state(conn, vm) == 2, "the VM did not stay running on the source"
        assert image.read_bytes() == before
    # the destination comes back: no VM, no file the migration brought
    with serve_host(tmp_path, "hostb", "--users-file", str(users)) as b:
        assert not exists(connect(b, ADMIN), vm)
        assert [p for p in (tmp_path / "hostb-storage").rglob("*") if p.is_file()] == []


def test_source_killed_mid_way_keeps_the_vm_on_the_source_after_restart_and_clears_the_destination(tmp_path: Path):
    with source_and_destination(tmp_path) as (a, b, _users, peers):
        vm, image, before, _job = uploading(connect(a), tmp_path, "orphan")
        a.stop(signal.SIGKILL)
        with serve_host(tmp_path, "hosta", "--peers", str(peers)) as a:
            conn, b_conn = connect(a), connect(b, ADMIN)
            # the restarted source settles with the destination: it drops what it received
            wait_until(lambda: [p for p in (tmp_path / "hostb-storage").rglob("*") if p.is_file()] == [],
                       "cleared on the destination")
            assert exists(conn, vm) and not exists(b_conn, vm)
            assert image.read_bytes() == before
            assert state(conn, vm) in (2, 3)  # a killed host's VMs restart per their automatic start action


def test_a_cancelled_migration_leaves_the_vm_on_the_source_and_nothing_on_the_destination(tmp_path: Path):
    with source_and_destination(tmp_path) as (a, b, _users, _peers):
        conn = connect(a)
        vm, image, _before, job = uploading(conn, tmp_path, "cancelled")
        assert conn.InvokeMethod("RequestStateChange", job, RequestedState=pywbem.Uint16(4))[0] == 0
        finished = wait_job(conn, job, timeout=60)
        assert finished["JobState"] == 8, (finished["JobState"], finished["ErrorDescription"])
        assert state(conn, vm) == 2 and image.exists()
        assert not exists(connect(b, ADMIN), vm)
        wait_until(lambda: [p for p in (tmp_path / "hostb-storage").rglob("*") if p.is_file()] == [],
                   "cleared on the destination")
