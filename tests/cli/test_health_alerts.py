"""Health as an operations team sees it on the simulated host: a guest that
crashes, a guest that stops answering its heartbeat, and a storage root
that fills up each change the element's HealthState and raise a
CIM_AlertIndication through ordinary subscriptions (DMTF and WMI filter
syntax alike); clearing the condition restores health and says so in a
second alert. A simulated guest takes its faults from the host KVP item
SimulatedGuestFault. `host health` and `watch --alerts` show the same to
a person at a terminal and to a script (its exit code)."""

from __future__ import annotations

import json
import os
import subprocess
import queue
import sys
import time

import pytest

from tests.support.alerts import about, alert_streams, next_alert, subscribed_streams, wait_until
from tests.cli.conftest import REPO, client_env, run_json
from tests.support.live import in_process_server
from tests.support.small_filesystem import small_filesystem
from tests.support.waiting import PipeLines

FAULT = "SimulatedGuestFault"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with in_process_server(tmp_path_factory.mktemp("health"), metrics_interval_seconds=0.2) as live:
        yield live


def system(cimprovider, name: str) -> dict:
    return next(v for v in run_json(cimprovider, "enum", "Msvm_ComputerSystem") if v.get("ElementName") == name)


def vm_id(cimprovider, name: str) -> str:
    return next(v["id"] for v in run_json(cimprovider, "vm", "list") if v["name"] == name)


def test_a_guest_that_crashes_is_critical_until_started_again(cimprovider, server):
    assert cimprovider("vm", "new", "crashing").exit_code == 0
    assert cimprovider("vm", "start", "crashing").exit_code == 0
    guid = vm_id(cimprovider, "crashing")
    with alert_streams(server) as streams:
        assert cimprovider("vm", "kvp", "set", "crashing", FAULT, "crash").exit_code == 0
        failed = {tag: next_alert(stream, about(guid)) for tag, stream in streams.items()}
        crashed = system(cimprovider, "crashing")
        assert crashed["EnabledState"] == 3  # the guest stopped by itself
        assert (crashed["HealthState"], crashed["OperationalStatus"]) == (25, [6])
        assert "crashed" in crashed["StatusDescriptions"][0]
        assert cimprovider("vm", "start", "crashing").exit_code == 0
        cleared = {tag: next_alert(stream, about(guid)) for tag, stream in streams.items()}
    for tag in streams:
        assert (failed[tag]["PerceivedSeverity"], failed[tag]["ProbableCause"]) == (6, 48)  # Critical, Abnormally Terminated
        assert failed[tag]["Description"].startswith("Virtual machine crashing: ") and "crashed" in failed[tag]["Description"]
        assert (cleared[tag]["PerceivedSeverity"], cleared[tag]["ProbableCause"]) == (2, 59)  # Information, Previous Alert Cleared
        assert "crashing is healthy again" in cleared[tag]["Description"]
    assert system(cimprovider, "crashing")["HealthState"] == 5


def test_a_hung_guest_loses_its_heartbeat(cimprovider, server):
    assert cimprovider("vm", "new", "hanging").exit_code == 0
    assert cimprovider("vm", "start", "hanging").exit_code == 0
    guid = vm_id(cimprovider, "hanging")
    with alert_streams(server) as streams:
        assert cimprovider("vm", "kvp", "set", "hanging", FAULT, "hang").exit_code == 0
        vm_alert = next_alert(streams["dmtf"], about(guid))
        component_alert = next_alert(streams["wmi"], about(guid, "Msvm_HeartbeatComponent"))
        assert system(cimprovider, "hanging")["EnabledState"] == 2  # still running: it only stopped answering
        assert (system(cimprovider, "hanging")["HealthState"], system(cimprovider, "hanging")["OperationalStatus"]) == (20, [13])
        heartbeat = next(c for c in run_json(cimprovider, "enum", "Msvm_HeartbeatComponent") if c["SystemName"] == guid)
        assert (heartbeat["HealthState"], heartbeat["OperationalStatus"]) == (20, [13])
        assert run_json(cimprovider, "vm", "summary", "hanging")[0]["heartbeat"] == "Lost Communication"
        assert cimprovider("vm", "kvp", "remove", "hanging", FAULT).exit_code == 0
        vm_back = next_alert(streams["dmtf"], about(guid))
        component_back = next_alert(streams["wmi"], about(guid, "Msvm_HeartbeatComponent"))
    assert (vm_alert["PerceivedSeverity"], vm_alert["ProbableCause"]) == (5, 30)  # Major, Loss of Signal
    assert "heartbeat is lost" in vm_alert["Description"]
    assert (component_alert["PerceivedSeverity"], component_alert["ProbableCause"]) == (5, 30)
    assert component_alert["Description"].startswith("The heartbeat component of virtual machine hanging")
    assert (vm_back["ProbableCause"], component_back["ProbableCause"]) == (59, 59)
    heartbeat = next(c for c in run_json(cimprovider, "enum", "Msvm_HeartbeatComponent") if c["SystemName"] == guid)
    assert (heartbeat["HealthState"], heartbeat["OperationalStatus"]) == (5, [2])


@pytest.fixture
def own_storage(tmp_path):
    """The storage root on a 64 MiB tmpfs of its own: what other tests
    write meanwhile decides nothing here."""
    with small_filesystem(tmp_path / "storage", 64) as root:
        yield root


def test_a_full_storage_root_degrades_the_host_and_its_vms(tmp_path, own_storage):
    # Full below 32 MiB free: the 40 MiB ballast fills it, and nothing else does.
    with in_process_server(tmp_path, metrics_interval_seconds=0.2, storage_roots=[own_storage],
                           storage_minimum_free_mb=32) as live:
        from click.testing import CliRunner

        from cimprovider.cli.main import cli

        def cimprovider(*args):
            env = {k: None for k in os.environ if k.startswith("CIMPROVIDER_")}
            env.update({"CIMPROVIDER_SERVER": live.url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull})
            return CliRunner(mix_stderr=False).invoke(cli, list(args), env=env, catch_exceptions=False)

        root = own_storage
        disk = root / "filling.vhdx"
        assert cimprovider("vhd", "new", str(disk), "--size", "16M").exit_code == 0
        assert cimprovider("vm", "new", "filling").exit_code == 0
        assert cimprovider("vm", "disk", "add", "filling", str(disk)).exit_code == 0
        assert cimprovider("vm", "start", "filling").exit_code == 0
        host_name = next(v for v in run_json(cimprovider, "enum", "Msvm_ComputerSystem") if v["Caption"] == "Hosting Computer System")["Name"]
        assert system(cimprovider, host_name)["HealthState"] == 5
        ballast = root / "ballast"
        with alert_streams(live) as streams:
            with open(ballast, "wb") as f:
                os.posix_fallocate(f.fileno(), 0, 40 * 1024 * 1024)
            host_alert = next_alert(streams["dmtf"], about(host_name))
            vm_alert = next_alert(streams["wmi"], about(vm_id(cimprovider, "filling")))
            host = system(cimprovider, host_name)
            assert (host["HealthState"], host["OperationalStatus"]) == (10, [3])
            assert f"Storage root {root} is full" in host["StatusDescriptions"][0]
            assert system(cimprovider, "filling")["HealthState"] == 10
            assert run_json(cimprovider, "vm", "summary", "filling")[0]["health"] == "Degraded"
            ballast.unlink()
            host_back = next_alert(streams["dmtf"], about(host_name))
        assert (host_alert["PerceivedSeverity"], host_alert["ProbableCause"]) == (3, 50)  # Degraded/Warning, Storage Capacity Problem
        assert host_alert["Description"].startswith(f"Host {host_name}: Storage root {root} is full")
        assert (vm_alert["PerceivedSeverity"], vm_alert["ProbableCause"]) == (3, 50)
        assert str(disk) in vm_alert["Description"]
        assert host_back["ProbableCause"] == 59 and "healthy again" in host_back["Description"]
        wait_until("the VM is healthy again", lambda: system(cimprovider, "filling")["HealthState"] == 5)


def test_host_health_and_watch_alerts_as_an_operator_uses_them(cimprovider, server):
    for name in ("crashing", "hanging"):  # earlier tests' VMs, healthy again, would not be listed anyway
        cimprovider("vm", "remove", name, "--force")
    healthy = cimprovider("host", "health")
    assert healthy.exit_code == 0, healthy.stderr
    assert healthy.stdout.splitlines()[1].split()[:3] == ["host", healthy.stdout.splitlines()[1].split()[1], "OK"]
    assert cimprovider("vm", "new", "watched").exit_code == 0
    assert cimprovider("vm", "start", "watched").exit_code == 0
    watcher = subprocess.Popen([sys.executable, "-m", "cimprovider.cli", "watch", "--alerts", "--count", "4", "--duration", "120"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                               env=client_env({"CIMPROVIDER_SERVER": server.url}))
    try:
        err = PipeLines(watcher.stderr)
        err.wait_for("watching")
        assert cimprovider("vm", "kvp", "set", "watched", FAULT, "hang").exit_code == 0
        # The components read the guest live; the VM follows at the next sampling interval.
        sick = wait_until("the VM reads its heartbeat lost", lambda: (
            (found := cimprovider("host", "health", "-o", "json")).exit_code == 7 and '"kind": "vm"' in found.stdout and found))
        assert sick.exit_code == 7 and "not OK, the worst" in sick.stderr
        rows = {(r["kind"], r["name"]): r for r in json.loads(sick.stdout)}
        assert rows[("vm", "watched")]["health"] == "Major Failure"
        assert rows[("vm", "watched")]["status"] == "Lost Communication"
        assert "heartbeat is lost" in rows[("vm", "watched")]["why"]
        assert rows[("component", "Heartbeat of watched")]["health"] == "Major Failure"
        assert {kind for kind, _ in rows} == {"host", "vm", "component"}
        # A hung guest answers none of its integration services: each is listed.
        names = cimprovider("host", "health", "-q").stdout.splitlines()
        assert names[1] == "watched" and {"Heartbeat of watched", "Guest Shutdown of watched"} <= set(names[2:])
        assert cimprovider("vm", "kvp", "remove", "watched", FAULT).exit_code == 0
        out, _ = watcher.communicate(timeout=120)
    finally:
        if watcher.poll() is None:
            watcher.terminate()
            watcher.wait(timeout=30)
    assert watcher.returncode == 0
    lines = out.splitlines()
    assert len(lines) == 4
    assert sum(" Major " in line and "Virtual machine watched: The guest's heartbeat is lost" in line for line in lines) == 1
    assert sum(" Major " in line and "The heartbeat component of virtual machine watched:" in line for line in lines) == 1
    assert sum(" Info " in line and "is healthy again" in line for line in lines) == 2
    assert cimprovider("host", "health").exit_code == 0


def test_watch_refuses_alerts_with_a_query(cimprovider):
    refused = cimprovider("watch", "--alerts", "--query", "SELECT * FROM CIM_InstCreation")
    assert refused.exit_code == 2 and "--alerts or --query" in refused.stderr


HEALTH_MODIFICATIONS = (
    ("dmtf", "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA Msvm_ComputerSystem "
             "AND SourceInstance.HealthState <> PreviousInstance.HealthState", "DMTF:CQL"),
    ("wmi", "SELECT * FROM __InstanceModificationEvent WITHIN 2 WHERE TargetInstance ISA 'Msvm_ComputerSystem'", "WQL"),
)


def test_a_vms_health_change_is_a_modification_of_the_vm(cimprovider, server):
    """As on Hyper-V, where every property change of Msvm_ComputerSystem is
    an __InstanceModificationEvent: a monitor watching modifications sees
    the heartbeat lost (5 → 20) and back (20 → 5), with the state before."""
    assert cimprovider("vm", "new", "health-watched").exit_code == 0
    started = cimprovider("vm", "start", "health-watched")
    assert started.exit_code == 0, started.stderr
    guid = vm_id(cimprovider, "health-watched")
    with subscribed_streams(server, HEALTH_MODIFICATIONS, "health-modifications") as streams:
        assert cimprovider("vm", "kvp", "set", "health-watched", FAULT, "hang").exit_code == 0
        lost = {tag: health_change(stream, guid) for tag, stream in streams.items()}
        assert cimprovider("vm", "kvp", "remove", "health-watched", FAULT).exit_code == 0
        back = {tag: health_change(stream, guid) for tag, stream in streams.items()}
    assert lost["dmtf"] == lost["wmi"] == (5, 20, [13])
    assert back["dmtf"] == back["wmi"] == (20, 5, [2])


def health_change(stream, guid: str) -> tuple[int, int, list[int]]:
    """(HealthState before, after, OperationalStatus after) of the next
    modification of VM `guid` that changed its health."""
    deadline = time.monotonic() + 60
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "no modification of the VM's health arrived"
        try:
            indication = stream.get(timeout=remaining)
        except queue.Empty:
            raise AssertionError("no modification of the VM's health arrived within 60 s") from None
        now = indication["SourceInstance"] if "SourceInstance" in indication else indication["TargetInstance"]
        before = indication["PreviousInstance"]
        if now["Name"] == guid and before["HealthState"] != now["HealthState"]:
            return before["HealthState"], now["HealthState"], list(now["OperationalStatus"])


CATCH_ALL = (
    ("indication", "SELECT * FROM CIM_Indication", "DMTF:CQL"),
    ("event", "SELECT * FROM __Event", "WQL"),
    ("process", "SELECT * FROM CIM_ProcessIndication", "DMTF:CQL"),
)


def test_catch_all_filters_take_what_their_class_covers(cimprovider, server):
    """CIM_Indication (WMI's __Event) is every indication's class, the
    filter a DMTF client subscribes to everything with; CIM_ProcessIndication
    covers alerts but not instance life-cycle indications."""
    with subscribed_streams(server, CATCH_ALL, "catch-all") as streams:
        assert cimprovider("vm", "new", "caught").exit_code == 0
        assert cimprovider("vm", "start", "caught").exit_code == 0
        guid = vm_id(cimprovider, "caught")
        assert cimprovider("vm", "kvp", "set", "caught", FAULT, "crash").exit_code == 0
        got = {tag: classes_until_alert(stream, guid) for tag, stream in streams.items()}
    for tag in ("indication", "event"):
        assert {"CIM_InstCreation", "CIM_InstModification", "CIM_AlertIndication"} <= got[tag], got[tag]
    assert got["process"] == {"CIM_AlertIndication"}, got["process"]


def classes_until_alert(stream, guid: str) -> set[str]:
    """The classes of what arrives, up to the first alert about VM `guid`."""
    seen: set[str] = set()
    deadline = time.monotonic() + 60
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no alert about the VM arrived; got {sorted(seen)}"
        try:
            indication = stream.get(timeout=remaining)
        except queue.Empty:
            raise AssertionError(f"no alert about the VM arrived within 60 s; got {sorted(seen)}") from None
        seen.add(indication.classname)
        if indication.classname == "CIM_AlertIndication" and about(guid)(indication):
            return seen
