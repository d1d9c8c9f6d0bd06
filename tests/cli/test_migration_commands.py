"""`vm move` and `host list` against two real servers as two hosts."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cimprovider.backends.images import StorageRoots
from cimprovider.backends.images.vhd_chain import VhdChain
from cimprovider.cli.main import cli
from tests.integration.migration.two_hosts import ADMIN, exists, source_and_destination, vm_with_new_disk, write_peers
from tests.integration.model.hyperv import define_vm, request_state, state, wait_job
from tests.integration.storage.snapshots_client import guest_writes, snapshot_service, take
from tests.integration.storage.vhd_client import create, settings
from tests.integration.storage.vm_client import disk_paths, vm_with_disk


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("cli-hosts")
    with source_and_destination(base) as (a, b):
        yield base, a, b


def run(url: str, *args: str, env: dict | None = None):
    environment = {k: None for k in os.environ if k.startswith("CIMPROVIDER_")}
    environment.update({"CIMPROVIDER_SERVER": url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull, **(env or {})})
    return CliRunner(mix_stderr=False).invoke(cli, list(args), env=environment, catch_exceptions=False)


def test_vm_move_with_a_storage_path(hosts):
    _, a, b = hosts
    vm, image = vm_with_new_disk(a, "cli", "cli-vm")
    assert request_state(a.conn, vm, 2)[0] == 4096
    result = run(a.live.url, "vm", "move", "cli-vm", "--to", "hostb", "--storage-path", str(b.root / "cli-moved"))
    assert result.exit_code == 0, result.stderr
    assert "moved cli-vm to hostb" in result.stdout
    assert not exists(a.conn, vm)
    assert state(b.conn, vm) == 2
    assert disk_paths(b.conn, vm) == [str(b.root / "cli-moved" / "cli.vhd")]


def test_quick_move_saves_moves_and_restores(hosts):
    base, a, b = hosts
    vm, image = vm_with_new_disk(a, "quick", "quick-vm")
    assert request_state(a.conn, vm, 2)[0] == 4096
    peers = write_peers(base / "client-peers.toml", {"hostb": (b.live.url, ADMIN)})
    result = run(a.live.url, "vm", "move", "quick-vm", "--to", "hostb", "--quick", "--peers", str(peers),
                 "--storage-path", str(b.root / "quick"))
    assert result.exit_code == 0, result.stderr
    assert not exists(a.conn, vm) and state(b.conn, vm) == 2
    # Saved on the source before the move; restored on the destination after it, each a job of its host.
    saves = [j for j in jobs_about(a.conn, "quick-vm") if j["Description"].endswith("to save")]
    (move,) = [j for j in a.conn.EnumerateInstances("Msvm_MigrationJob") if j["VirtualSystemName"] == vm["Name"]]
    assert len(saves) == 1 and saves[0]["JobState"] == 7
    assert saves[0]["TimeSubmitted"].datetime < move["TimeSubmitted"].datetime
    assert [j["Description"] for j in jobs_about(b.conn, "quick-vm")] == ["Changing the state of 'quick-vm' to start"]


def jobs_about(conn, name: str) -> list:
    """A host's jobs whose description names VM `name`."""
    return [j for j in conn.EnumerateInstances("CIM_ConcreteJob") if f"'{name}'" in (j["Description"] or "")]


def test_vm_move_with_a_bandwidth_sends_no_faster(hosts):
    """--bandwidth 16 (Mbit/s: 2,000,000 bytes a second) for a fixed 4 MiB
    disk: the move's job ran at least 2 s; a cap out of Hyper-V's range is
    refused by the command before it asks."""
    _, a, b = hosts
    image = a.root / "paced" / "paced.vhd"
    image.parent.mkdir()
    create(a.conn, image, "fixed")
    vm = vm_with_disk(a.conn, "paced-vm", image)
    refused = run(a.live.url, "vm", "move", "paced-vm", "--to", "hostb", "--bandwidth", "65536")
    assert refused.exit_code == 2 and "--bandwidth" in refused.stderr
    result = run(a.live.url, "vm", "move", "paced-vm", "--to", "hostb", "--bandwidth", "16",
                 "--storage-path", str(b.root / "paced"))
    assert result.exit_code == 0, result.stderr
    assert state(b.conn, vm) == 3
    (job,) = [j for j in a.conn.EnumerateInstances("Msvm_MigrationJob") if j["VirtualSystemName"] == vm["Name"]]
    assert job["ElapsedTime"].timedelta >= timedelta(seconds=2), job["ElapsedTime"]


def test_a_refused_move_says_why_and_exits_nonzero(hosts):
    _, a, _ = hosts
    vm, image = vm_with_new_disk(a, "stay", "stay-vm")
    result = run(a.live.url, "vm", "move", "stay-vm", "--to", "hostb")
    assert result.exit_code == 1
    assert "storage roots" in result.stderr
    assert exists(a.conn, vm)


def test_host_list_shows_each_peer(hosts):
    base, a, b = hosts
    define_vm(b.conn, "listed-on-b")
    peers = write_peers(base / "list-peers.toml", {"hostb": (b.live.url, ADMIN), "gone": ("http://127.0.0.1:9", None)})
    result = run(a.live.url, "host", "list", "--peers", str(peers), "-o", "json")
    assert (result.exit_code, result.stderr) == (6, "cimprovider: host list: unreachable: gone\n")  # some answered
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["hostb"]["state"] == "up"
    assert rows["hostb"]["vms"] == sorted(v["ElementName"] for v in b.conn.EnumerateInstances("Msvm_ComputerSystem")
                                          if v["Caption"] != "Hosting Computer System")
    assert "listed-on-b" in rows["hostb"]["vms"]
    table = run(a.live.url, "host", "list", "--peers", str(peers))
    assert ", ".join(rows["hostb"]["vms"]) in table.stdout
    assert rows["hostb"]["free_memory_mb"] > 0
    assert rows["gone"]["state"] == "unreachable"
    alone = write_peers(base / "gone-peers.toml", {"gone": ("http://127.0.0.1:9", None)})
    assert run(a.live.url, "host", "list", "--peers", str(alone)).exit_code == 3  # none answered



def test_host_list_tells_refused_credentials_from_an_unreachable_peer(hosts):
    base, a, b = hosts
    wrong = (ADMIN[0], "not-the-password")
    peers = write_peers(base / "refused-peers.toml", {"hostb": (b.live.url, ADMIN), "locked": (b.live.url, wrong),
                                                      "gone": ("http://127.0.0.1:9", None)})
    result = run(a.live.url, "host", "list", "--peers", str(peers), "-o", "json")
    assert (result.exit_code, result.stderr) == (6, "cimprovider: host list: refused: locked; unreachable: gone\n")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["hostb"]["state"] == "up"
    assert rows["locked"]["state"] == "refused"
    assert rows["locked"]["error"] == "the peer refused the credentials the peers file names (401)"
    assert rows["gone"]["state"] == "unreachable"
    table = run(a.live.url, "host", "list", "--peers", str(peers), "--wide")
    locked = next(line for line in table.stdout.splitlines() if line.startswith("locked"))
    assert "refused" in locked and "the peer refused the credentials the peers file names (401)" in locked
    alone = write_peers(base / "refused-alone.toml", {"locked": (b.live.url, wrong)})
    refused = run(a.live.url, "host", "list", "--peers", str(alone))
    assert (refused.exit_code, refused.stderr) == (3, "cimprovider: host list: refused: locked\n")  # none answered

def test_move_storage_moves_a_running_vms_disks_and_snapshots_on_its_host(hosts):
    _, a, _ = hosts
    vm, image = vm_with_new_disk(a, "here", "here-vm")
    guest_writes(a.conn, vm, 0, 0x11)
    snapshot = take(a.conn, vm)
    guest_writes(a.conn, vm, 0, 0x22)
    assert request_state(a.conn, vm, 2)[0] == 4096
    result = run(a.live.url, "vm", "move-storage", "here-vm", str(a.root / "there"))
    assert result.exit_code == 0, result.stderr
    assert state(a.conn, vm) == 2
    leaf = disk_paths(a.conn, vm)[0]
    assert Path(leaf).parent == a.root / "there"
    assert sorted(p.name for p in (a.root / "there").iterdir()) == sorted([Path(leaf).name, "here.vhd"])
    assert list((a.root / "here").iterdir()) == []
    assert Path(settings(a.conn, Path(leaf))["ParentPath"]) == a.root / "there" / "here.vhd"
    # The snapshot describes the moved disk: applied, the VM reads a new disk on it, nothing in the old folder.
    assert request_state(a.conn, vm, 6)[0] in (0, 4096)
    code, out = a.conn.InvokeMethod("ApplySnapshot", snapshot_service(a.conn), Snapshot=snapshot)
    assert code == 0 or wait_job(a.conn, out["Job"])["JobState"] == 7
    applied = disk_paths(a.conn, vm)[0]
    assert Path(applied).parent == a.root / "there"
    assert Path(settings(a.conn, Path(applied))["ParentPath"]) == a.root / "there" / "here.vhd"
    assert list((a.root / "here").iterdir()) == []
    with VhdChain.open(Path(applied), StorageRoots([a.root])) as chain:
        assert chain.read(0, 1 << 20) == b"\x11" * (1 << 20), "the applied disk is not the snapshot's"
    refused = run(a.live.url, "vm", "move-storage", "here-vm", "/proc/outside")
    assert refused.exit_code == 1 and "storage roots" in refused.stderr
