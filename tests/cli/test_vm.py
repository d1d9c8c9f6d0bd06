"""vm list/new/show/set/remove/summary and the power commands through
CliRunner against a live server: what a user sees, and what the server
holds afterwards (read back with pywbem, not through the CLI)."""

from __future__ import annotations

import csv
import io
import json

import yaml

from tests.cli.conftest import NS, run_json


def vm_instance(server, name):
    conn = server.connection(NS)
    return next(i for i in conn.EnumerateInstances("Msvm_ComputerSystem") if i["ElementName"] == name)


def test_new_sizes_memory_and_processors_and_adds_a_scsi_controller(cimprovider, server):
    made = run_json(cimprovider, "vm", "new", "alpha", "--memory", "2G", "--processors", "2", "--notes", "for tests")
    assert made["name"] == "alpha" and made["state"] == "Off" and len(made["id"]) == 36
    shown = run_json(cimprovider, "vm", "show", "alpha")
    assert (shown["memory_mb"], shown["processors"], shown["notes"], shown["dynamic_memory"]) == (2048, 2, "for tests", False)
    conn = server.connection(NS)
    scsi = [s for s in conn.EnumerateInstances("Msvm_ResourceAllocationSettingData")
            if s["InstanceID"].startswith(f"Microsoft:{made['id']}") and s["ResourceType"] == 6]
    assert len(scsi) == 1


def test_list_in_every_format(cimprovider):
    cimprovider("vm", "new", "beta")
    table = cimprovider("vm", "list")
    assert table.exit_code == 0 and table.stdout.splitlines()[0].split()[:2] == ["NAME", "STATE"]
    assert any(line.startswith("beta ") for line in table.stdout.splitlines())
    rows = run_json(cimprovider, "vm", "list")
    assert {"host", "name", "state", "cpus", "memory_mb", "uptime_seconds", "switches", "id", "memory_assigned_mb",
            "memory_startup_mb", "held"} == set(rows[0])
    assert yaml.safe_load(cimprovider("vm", "list", "-o", "yaml").stdout) == rows
    parsed = list(csv.DictReader(io.StringIO(cimprovider("vm", "list", "-o", "csv").stdout)))
    assert [r["name"] for r in parsed] == [r["name"] for r in rows]
    assert cimprovider("vm", "list", "-q").stdout.split() == [r["id"] for r in rows]


def test_power_cycle_through_every_command(cimprovider, server):
    cimprovider("vm", "new", "gamma")
    steps = [("start", "Running", "gamma started"), ("pause", "Paused", "gamma paused"), ("resume", "Running", "gamma resumed"),
             ("save", "Saved", "gamma saved"), ("start", "Running", "gamma started"), ("restart", "Running", "gamma restarted"),
             ("stop", "Off", "gamma turned off")]
    for command, state, said in steps:
        result = cimprovider("vm", command, "gamma")
        assert result.exit_code == 0, result.stderr
        assert result.stdout.strip() == said
        assert run_json(cimprovider, "vm", "show", "gamma")["state"] == state
    assert cimprovider("vm", "stop", "gamma").stdout.strip() == "gamma is already Off"


def test_a_request_the_state_forbids_fails_with_the_state_named(cimprovider):
    cimprovider("vm", "new", "delta")
    result = cimprovider("vm", "pause", "delta")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "32775" in result.stderr and "the VM is Off" in result.stderr


def test_resume_takes_only_a_paused_vm(cimprovider):
    """RequestStateChange 2 starts an Off VM too: `vm resume` must not."""
    cimprovider("vm", "new", "resumed-off")
    result = cimprovider("vm", "resume", "resumed-off")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == "cimprovider: vm resume 'resumed-off': the VM is Off; resume takes a VM that is Paused"
    assert run_json(cimprovider, "vm", "show", "resumed-off")["state"] == "Off"


def test_guest_shutdown_waits_until_off(cimprovider):
    cimprovider("vm", "new", "epsilon")
    cimprovider("vm", "start", "epsilon")
    result = cimprovider("vm", "shutdown", "epsilon")
    assert result.exit_code == 0 and result.stdout.strip() == "epsilon shut down"
    assert run_json(cimprovider, "vm", "show", "epsilon")["state"] == "Off"
    refused = cimprovider("vm", "shutdown", "epsilon")
    assert refused.stdout.strip() == "epsilon is already Off"


def test_set_memory_dynamic_processors_notes_actions_and_rename(cimprovider, server):
    cimprovider("vm", "new", "zeta")
    result = cimprovider("vm", "set", "zeta", "--dynamic-memory", "--memory", "1G", "--min-memory", "512M",
                         "--max-memory", "4G", "--memory-buffer", "30", "--processors", "4", "--notes", "changed",
                         "--start-action", "always", "--stop-action", "shutdown", "--rename", "zeta2", "-o", "json")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (shown["name"], shown["memory_mb"], shown["memory_min_mb"], shown["memory_max_mb"]) == ("zeta2", 1024, 512, 4096)
    assert (shown["dynamic_memory"], shown["memory_buffer_percent"], shown["processors"]) == (True, 30, 4)
    assert (shown["notes"], shown["start_action"], shown["stop_action"]) == ("changed", "always", "shutdown")
    settings = server.connection(NS).Associators(vm_instance(server, "zeta2").path, ResultClass="Msvm_VirtualSystemSettingData")
    assert settings[0]["AutomaticStartupAction"] == 4 and settings[0]["AutomaticShutdownAction"] == 4


def test_set_refused_by_the_server_names_the_property(cimprovider):
    cimprovider("vm", "new", "eta")
    result = cimprovider("vm", "set", "eta", "--memory", "3")
    assert result.exit_code == 1
    assert result.stderr.startswith("cimprovider: vm 'eta': memory: job error 32773") and "VirtualQuantity" in result.stderr
    assert cimprovider("vm", "set", "eta").exit_code == 2  # nothing to change


def test_summary_of_a_running_vm(cimprovider):
    cimprovider("vm", "new", "theta", "--processors", "2")
    cimprovider("vm", "start", "theta")
    rows = run_json(cimprovider, "vm", "summary", "theta")
    assert len(rows) == 1
    row = rows[0]
    assert (row["name"], row["state"], row["cpus"], row["heartbeat"]) == ("theta", "Running", 2, "OK")
    assert row["guest_os"] and row["memory_mb"] > 0
    cimprovider("vm", "stop", "theta")


def test_remove_refuses_a_running_vm_unless_forced(cimprovider, server):
    made = run_json(cimprovider, "vm", "new", "iota")
    cimprovider("vm", "start", "iota")
    refused = cimprovider("vm", "remove", "iota")
    assert refused.exit_code == 1 and "is Running" in refused.stderr
    result = cimprovider("vm", "remove", "iota", "--force")
    assert result.exit_code == 0 and made["id"] in result.stdout
    assert made["id"] not in cimprovider("vm", "list", "-q").stdout.split()


def test_a_vm_by_id_and_a_missing_vm(cimprovider):
    made = run_json(cimprovider, "vm", "new", "kappa")
    assert run_json(cimprovider, "vm", "show", made["id"].lower())["name"] == "kappa"
    missing = cimprovider("vm", "show", "no-such-vm")
    assert missing.exit_code == 5 and missing.stdout == ""
    assert missing.stderr.strip().startswith("cimprovider: vm 'no-such-vm': no such virtual machine")


def test_summary_of_a_vm_that_is_not_there_is_not_found(cimprovider):
    cimprovider("vm", "new", "summarised")
    result = cimprovider("vm", "summary", "summarised", "nosuch", "-o", "json")
    assert result.exit_code == 5
    assert [row["name"] for row in json.loads(result.stdout)] == ["summarised"]
    assert result.stderr == "cimprovider: vm summary: no VM named 'nosuch'\n"
