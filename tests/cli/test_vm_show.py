"""`vm show` as Get-VM | Format-List reads: uptime, assigned memory, the
guest's addresses, disks with their sizes and the snapshot count."""

from __future__ import annotations

import re

from tests.cli.conftest import run_json


def test_show_a_running_vm_with_a_disk_and_snapshots(cimprovider, server):
    storage = server.data_dir / "storage"
    disk = storage / "shown.vhdx"
    assert cimprovider("vhd", "new", str(disk), "--size", "48M").exit_code == 0
    cimprovider("vm", "new", "shown", "--memory", "1G")
    assert cimprovider("vm", "disk", "add", "shown", str(disk)).exit_code == 0
    cimprovider("vm", "nic", "add", "shown", "--switch", "Default Switch")
    for name in ("one", "two"):
        assert cimprovider("snapshot", "new", "shown", "--name", name).exit_code == 0
    assert cimprovider("vm", "start", "shown").exit_code == 0
    shown = run_json(cimprovider, "vm", "show", "shown")
    assert shown["snapshots"] == 2
    assert shown["memory_mb"] == 1024 and shown["memory_assigned_mb"] > 0
    assert isinstance(shown["uptime_seconds"], (int, float)) and shown["uptime_seconds"] >= 0
    assert [(s["kind"], s["path"], s["size_bytes"]) for s in shown["storage"]] == [("disk", str(disk), 48 * 1024**2)]
    assert shown["ip_addresses"] and all(re.fullmatch(r"[0-9a-f.:]+", a) for a in shown["ip_addresses"])
    table = cimprovider("vm", "show", "shown").stdout
    assert re.search(r"^uptime\s+\d", table, re.M) and re.search(r"^snapshots\s+2$", table, re.M)
    assert "SIZE BYTES" in table


def test_adapters_get_hyper_v_manager_names(cimprovider):
    cimprovider("vm", "new", "named-nics")
    assert cimprovider("vm", "nic", "add", "named-nics").stdout.strip() == "added network adapter Network Adapter to named-nics"
    cimprovider("vm", "nic", "add", "named-nics")
    names = [a["name"] for a in run_json(cimprovider, "vm", "show", "named-nics")["network_adapters"]]
    assert names == ["Network Adapter", "Network Adapter 2"]
