"""A migration the destination could not settle at its commit: the
destination still adopting the VM past the source's timeout, or killed
(-9) while it adopts it. The source never undoes a move the destination
may be completing: the VM stays held on the source, its refusals naming
the destination, until the destination answers; then, without restarting
the source, exactly one host owns the VM and the source's hold is gone.

The seam: the test takes the destination's simulated store's write lock
(SQLite, BEGIN IMMEDIATE), so the destination's adoption — one
transaction — waits inside the commit until the test lets it go."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sqlite3
from contextlib import ExitStack
from pathlib import Path

import pywbem
from click.testing import CliRunner, Result
from pywbem import CIMInstanceName

from cimprovider.cli.main import cli as main

from tests.integration.migration.test_faults import connect, serve_host, start_migration
from tests.integration.migration.two_hosts import (
    ADMIN, Host, destination_host, exists, vm_with_new_disk, wait_until,
    write_peers, write_users,
)
from tests.integration.model.hyperv import request_state, state, wait_job
from tests.integration.storage.vhd_client import create
from tests.integration.storage.vm_client import vm_with_disk
from tests.support.live import in_process_server

RUNNING, OFF, COMPLETED, EXCEPTION, INVALID_STATE = 2, 3, 7, 10, 32775
IN_SERVICE, MIGRATING = 11, 32774  # OperationalStatus while a migration holds the VM


class AdoptionHeld:
    """The destination's simulated store with its write lock taken: an
    adoption waits (SQLite's busy timeout, 30 s) until `release`."""

    def __init__(self, data_dir: Path) -> None:
        self.db = sqlite3.connect(data_dir / "simulated.sqlite3", isolation_level=None, timeout=30)
        self.db.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.db.in_transaction:
            self.db.rollback()
        self.db.close()


def peers_file(path: Path, url: str, timeout: float | None = None) -> Path:
    lines = ["[peers.hostb]", f'url = "{url}"', f'user = "{ADMIN[0]}"', f'password = "{ADMIN[1]}"']
    if timeout is not None:
        lines.append(f"timeout = {timeout}")
    path.write_text("\n".join(lines) + "\n")
    return path


def job_state(conn: pywbem.WBEMConnection, job: CIMInstanceName) -> int:
    return int(conn.GetInstance(job, PropertyList=["JobState"])["JobState"])


def outgoing_phase(data_dir: Path) -> str | None:
    """The phase the source's persisted migration reached (None: none)."""
    path = data_dir / "migrations.sqlite3"
    if not path.exists():
        return None
    with sqlite3.connect(path, timeout=30) as db:
        row = db.execute("SELECT phase FROM outgoing").fetchone()
    return row[0] if row else None


def test_a_destination_still_adopting_past_the_timeout_is_asked_again_and_the_move_completes(tmp_path: Path, caplog):
    caplog.set_level(logging.INFO, logger="cimprovider.migration")
    with destination_host(tmp_path) as b:
        peers = peers_file(tmp_path / "a-peers.toml", b.live.url, timeout=1)
        with in_process_server(tmp_path / "a-data", storage_roots=[tmp_path / "a-storage"], peers_file=peers,
                               host_name="hosta") as live:
            a = Host(live, tmp_path / "a-storage")
            vm, image = vm_with_new_disk(a, "slow", "slow-arrival")
            held = AdoptionHeld(b.live.data_dir)
            try:
                job = start_migration(a.conn, vm, b.root / "slow" / "slow.vhd")
                # the source's commit times out (1 s) and it asks whether hostb has the VM
                wait_until(lambda: "still arriving" in caplog.text or job_state(a.conn, job) != 4,
                           "asked about the VM, nor finished")
                assert job_state(a.conn, job) == 4, a.conn.GetInstance(job)["ErrorDescription"]
                assert exists(a.conn, vm), "the source let go of the VM before the destination had it"
            finally:
                held.release()
            finished = wait_job(a.conn, job, timeout=60)
            assert finished["JobState"] == COMPLETED, finished["ErrorDescription"]
            assert exists(b.conn, vm) and state(b.conn, vm) == OFF
            assert not exists(a.conn, vm), "the VM is on both hosts"
            assert not image.exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def refusal(conn: pywbem.WBEMConnection, vm: CIMInstanceName, requested: int) -> str | None:
    """Why the VM refuses to change to `requested` (None: it accepted)."""
    code, job = request_state(conn, vm, requested)
    if code == 4096 and job is not None and job["JobState"] == COMPLETED:
        return None
    assert code == 4096 and job is not None and job["ErrorCode"] == INVALID_STATE, (code, job and job["ErrorDescription"])
    return job["ErrorDescription"]


def held_status(conn: pywbem.WBEMConnection, vm: CIMInstanceName) -> tuple[list[int], list[str]]:
    """What Msvm_ComputerSystem says of the VM's operational status."""
    system = conn.GetInstance(vm, PropertyList=["OperationalStatus", "StatusDescriptions"])
    return [int(code) for code in system["OperationalStatus"]], list(system["StatusDescriptions"])


def cli(url: str, *args: str) -> Result:
    environment = {k: None for k in os.environ if k.startswith("CIMPROVIDER_")}
    environment.update({"CIMPROVIDER_SERVER": url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull})
    result = CliRunner(mix_stderr=False).invoke(main, list(args), env=environment, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result


def test_a_destination_killed_during_the_commit_keeps_the_vm_held_on_the_source_until_it_is_back(tmp_path: Path):
    b_args = ("--port", str(free_port()), "--users-file", str(write_users(tmp_path / "b-users.json")))
    with ExitStack() as hosts:
        b = hosts.enter_context(serve_host(tmp_path, "hostb", *b_args))
        a = hosts.enter_context(serve_host(tmp_path, "hosta", "--peers", str(peers_file(tmp_path / "a-peers.toml", b.url))))
        conn = connect(a)
        image = tmp_path / "hosta-storage" / "cut" / "cut.vhd"
        image.parent.mkdir(parents=True)
        create(conn, image)
        vm = vm_with_disk(conn, "cut-commit", image)
        held = AdoptionHeld(tmp_path / "hostb-data")
        try:
            job = start_migration(conn, vm, tmp_path / "hostb-storage" / "cut" / "cut.vhd")
            wait_until(lambda: outgoing_phase(tmp_path / "hosta-data") == "committing", "committing")
            assert b.stop(signal.SIGKILL) == -signal.SIGKILL
        finally:
            held.release()
        failed = wait_job(conn, job, timeout=120)
        assert failed["JobState"] == EXCEPTION
        assert "hostb" in failed["ErrorDescription"], failed["ErrorDescription"]
        # hostb may own the VM: the source refuses to start it, and says why
        why = refusal(conn, vm, RUNNING)
        assert why is not None, "the source started a VM its destination may own"
        assert "hostb" in why and "migration" in why, why
        assert image.exists()
        # ...and shows the hold before anything is asked of the VM: to a WBEM client, and on the command line
        codes, descriptions = held_status(conn, vm)
        assert codes == [IN_SERVICE, MIGRATING], (codes, descriptions)
        assert descriptions[1].startswith("its migration to hostb is not settled: "), descriptions
        assert descriptions[1] in why, (descriptions, why)
        assert "Off (held: its migration to hostb is not settled)" in cli(a.url, "vm", "list", "--wide").stdout
        listed = json.loads(cli(a.url, "vm", "list", "-o", "json").stdout)
        assert [(row["name"], row["state"], row["held"]) for row in listed] == [("cut-commit", "Off", descriptions[1])]
        hosta = write_peers(tmp_path / "client-peers.toml", {"hosta": (a.url, None)})
        hosts_seen = json.loads(cli(a.url, "host", "list", "--peers", str(hosta), "-o", "json").stdout)
        assert hosts_seen[0]["held"] == ["cut-commit (its migration to hostb is not settled)"], hosts_seen
        b = hosts.enter_context(serve_host(tmp_path, "hostb", *b_args))
        # hostb is back: the source settles with it without a restart of its own
        wait_until(lambda: outgoing_phase(tmp_path / "hosta-data") is None, "settled", timeout=120)
        assert held_status(conn, vm) == ([2], ["Operating normally"]), "the source still shows the VM held"
        assert refusal(conn, vm, RUNNING) is None, "the source still holds the VM"
        assert state(conn, vm) == RUNNING
        assert json.loads(cli(a.url, "vm", "list", "-o", "json").stdout)[0]["held"] is None
        assert "held" not in cli(a.url, "vm", "list", "--wide").stdout.lower()
        assert not exists(connect(b, ADMIN), vm), "the VM is on both hosts"
        assert [p for p in (tmp_path / "hostb-storage").rglob("*") if p.is_file()] == []
        assert image.exists()
