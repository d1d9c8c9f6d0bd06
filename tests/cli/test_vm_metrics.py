"""`vm metrics` as Measure-VM: off until enabled, then the VM's CPU, memory,
disk and network figures over the metering window; reset starts the
window again; disable stops it."""

from __future__ import annotations

import time

import pytest
from pywbem import WBEMServer, WBEMSubscriptionManager

from cimprovider.indications.listener import listening

from tests.cli.conftest import NS, run_json
from tests.support.live import in_process_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with in_process_server(tmp_path_factory.mktemp("cli-metrics"), metrics_interval_seconds=0.2) as live:
        yield live


def wait_for_figures(cimprovider, name: str, ready) -> dict:
    deadline = time.monotonic() + 60
    while True:
        row = run_json(cimprovider, "vm", "metrics", name)[0]
        if ready(row):
            return row
        assert time.monotonic() < deadline, f"figures did not arrive: {row}"
        time.sleep(0.1)


def test_measure_a_working_vm(cimprovider, server):
    disk = server.data_dir / "storage" / "measured.vhdx"
    assert cimprovider("vhd", "new", str(disk), "--size", "16M").exit_code == 0
    assert cimprovider("vm", "new", "measured").exit_code == 0
    assert cimprovider("vm", "disk", "add", "measured", str(disk)).exit_code == 0
    assert cimprovider("vm", "nic", "add", "measured", "--switch", "Default Switch").exit_code == 0
    off = cimprovider("vm", "metrics", "measured")
    assert off.exit_code != 0 and "metering is off" in off.stderr and "--enable" in off.stderr
    enabled = cimprovider("vm", "metrics", "measured", "--enable")
    assert enabled.exit_code == 0 and "metering enabled for measured" in enabled.stderr
    assert cimprovider("vm", "start", "measured").exit_code == 0
    row = wait_for_figures(cimprovider, "measured", lambda r: r["avg_cpu_mhz"] > 0 and r["total_disk_mb"] > 0 and r["network_inbound_mb"] > 0)
    assert 0 < row["min_ram_mb"] <= row["avg_ram_mb"] <= row["max_ram_mb"]
    assert row["metering_duration_seconds"] > 0
    table = cimprovider("vm", "metrics", "measured").stdout
    assert table.splitlines()[0].split()[:4] == ["NAME", "AVG", "CPU", "MHZ"]
    assert "TOTAL DISK MB" in table and "NETWORK INBOUND MB" in table and "METERING DURATION" in table

    # A new window: what was counted before is gone.
    after = run_json(cimprovider, "vm", "metrics", "measured", "--reset")[0]
    assert after["total_disk_mb"] < row["total_disk_mb"]
    assert after["metering_duration_seconds"] < row["metering_duration_seconds"]

    assert cimprovider("vm", "metrics", "measured", "--disable").exit_code == 0
    assert cimprovider("vm", "metrics", "measured").exit_code != 0


def test_a_running_vm_whose_disk_vanished_is_a_major_failure(cimprovider, server):
    manager = WBEMSubscriptionManager("alerts")
    server_id = manager.add_server(WBEMServer(server.connection()))
    with listening() as dmtf, listening() as wmi:
        for tag, stream, query, language in (("dmtf", dmtf, "SELECT * FROM CIM_AlertIndication", "DMTF:CQL"),
                                             ("wmi", wmi, "SELECT * FROM CIM_AlertIndication WHERE PerceivedSeverity >= 2", "WQL")):
            destination = manager.add_destination(server_id, stream.listener_url, owned=True, destination_id=tag)
            flt = manager.add_filter(server_id, [NS], query, language, owned=True, filter_id=tag)
            manager.add_subscriptions(server_id, flt.path, [destination.path], owned=True)
        try:
            disk = vanishing_disk(cimprovider, server)
            alerts = {name: stream.collect(2, timeout=60) for name, stream in (("dmtf", dmtf), ("wmi", wmi))}
        finally:
            manager.remove_server(server_id)
    vm_id = run_json(cimprovider, "vm", "list")
    vm_id = next(v["id"] for v in vm_id if v["name"] == "fragile")
    for received in alerts.values():
        failed, recovered = received
        assert failed.classname == "CIM_AlertIndication"
        assert (failed["PerceivedSeverity"], recovered["PerceivedSeverity"]) == (5, 2)
        assert failed["AlertingElementFormat"] == 2 and vm_id in failed["AlertingManagedElement"]
        assert "Msvm_ComputerSystem" in failed["AlertingManagedElement"]
        assert failed["Description"] == f"Virtual machine fragile: The virtual hard disk {disk} is missing"
        assert "healthy again" in recovered["Description"]


def vanishing_disk(cimprovider, server):

    disk = server.data_dir / "storage" / "vanishing.vhdx"
    assert cimprovider("vhd", "new", str(disk), "--size", "16M").exit_code == 0
    assert cimprovider("vm", "new", "fragile").exit_code == 0
    assert cimprovider("vm", "disk", "add", "fragile", str(disk)).exit_code == 0
    assert cimprovider("vm", "start", "fragile").exit_code == 0

    def health() -> str:
        return run_json(cimprovider, "vm", "summary", "fragile")[0]["health"]

    assert health() == "OK"
    disk.unlink()
    deadline = time.monotonic() + 60
    while health() != "Major Failure":
        assert time.monotonic() < deadline, "the VM still reads healthy"
        time.sleep(0.1)
    system = next(v for v in run_json(cimprovider, "enum", "Msvm_ComputerSystem") if v.get("ElementName") == "fragile")
    assert system["HealthState"] == 20 and system["OperationalStatus"] == [6]
    assert system["StatusDescriptions"] == [f"The virtual hard disk {disk} is missing"]
    assert cimprovider("vhd", "new", str(disk), "--size", "16M").exit_code == 0
    while health() != "OK":
        assert time.monotonic() < deadline, "the VM did not recover"
        time.sleep(0.1)
    return disk


def test_enable_and_disable_together_is_a_usage_error(cimprovider):
    assert cimprovider("vm", "new", "undecided").exit_code == 0
    both = cimprovider("vm", "metrics", "undecided", "--enable", "--disable")
    assert both.exit_code == 2 and both.stdout == ""
    assert "--enable and --disable cannot be given together" in both.stderr
    three = cimprovider("vm", "metrics", "undecided", "--disable", "--reset", "--enable")
    assert three.exit_code == 2 and "--enable, --disable and --reset cannot be given together" in three.stderr
    # Nothing was done: metering is still off.
    off = cimprovider("vm", "metrics", "undecided")
    assert off.exit_code == 1 and "metering is off" in off.stderr
