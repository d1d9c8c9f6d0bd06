"""GET /metrics as Prometheus scrapes it: per-VM series that move when a
VM starts and works, the host's and the server's own figures, OpenMetrics
when asked for, and the reader role when authentication is on."""

from __future__ import annotations

import base64
import shutil
import urllib.error
from pathlib import Path

import pytest
from pywbem import CIMError
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families

from cimprovider.http.auth import UsersFile
from tests.integration.metrics.guest import metered_vm, of_vm, scrape, series, wait_until
from tests.integration.model.hyperv import NS, request_state
from tests.support.live import in_process_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with in_process_server(tmp_path_factory.mktemp("metrics"), metrics_interval_seconds=0.2) as live:
        yield live


@pytest.fixture
def conn(server):
    return server.connection(NS)


def value(found, name: str, vm_id: str, **labels: str) -> float:
    matching = [v for l, v in of_vm(found, name, vm_id) if set(labels.items()) <= set(l)]
    assert len(matching) == 1, (name, labels, matching)
    return matching[0]


def test_an_off_vm_is_listed_with_its_state(server, conn):
    vm = metered_vm(conn, "metrics-off")
    content_type, text = scrape(server.url)
    assert content_type.startswith("text/plain; version=0.0.4")
    found = series(text)
    vm_id = vm["Name"].lower()
    assert value(found, "cimprovider_vm_state", vm_id, state="off", vm_name="metrics-off") == 1
    assert value(found, "cimprovider_vm_state", vm_id, state="running") == 0
    assert value(found, "cimprovider_vm_memory_assigned_bytes", vm_id) == 0
    assert value(found, "cimprovider_vm_cpu_seconds_total", vm_id) == 0


def test_series_move_when_the_vm_starts_and_works(server, conn):
    vm = metered_vm(conn, "metrics-busy")
    vm_id = vm["Name"].lower()
    assert request_state(conn, vm, 2)[0] in (0, 4096)
    first = wait_until("the running VM has used CPU", lambda: (
        f := series(scrape(server.url)[1])) and value(f, "cimprovider_vm_cpu_seconds_total", vm_id) > 0 and f)
    assert value(first, "cimprovider_vm_state", vm_id, state="running") == 1
    assert value(first, "cimprovider_vm_memory_assigned_bytes", vm_id) > 0

    def moved():
        later = series(scrape(server.url)[1])
        return all(
            value(later, name, vm_id) > value(first, name, vm_id)
            for name in ("cimprovider_vm_cpu_seconds_total", "cimprovider_vm_disk_read_bytes_total",
                         "cimprovider_vm_disk_written_bytes_total", "cimprovider_vm_network_received_bytes_total",
                         "cimprovider_vm_network_sent_bytes_total")
        ) and later

    later = wait_until("CPU, disk and network counters grow", moved)
    assert 0 < value(later, "cimprovider_vm_cpu_usage_percent", vm_id) <= 100
    assert value(later, "cimprovider_vm_disk_latency_seconds", vm_id) > 0
    assert later[("cimprovider_host_vms", frozenset({("state", "running")}))] >= 1


def test_the_servers_own_figures(server, conn):
    conn.EnumerateInstances("Msvm_ComputerSystem")
    with pytest.raises(CIMError):
        conn.GetInstance(_missing_vm(conn))
    found = series(scrape(server.url)[1])
    ok = ("cimprovider_operation_duration_seconds_count", frozenset({("operation", "EnumerateInstances"), ("status", "OK")}))
    assert found[ok] >= 1
    missing = ("cimprovider_operation_duration_seconds_count", frozenset({("operation", "GetInstance"), ("status", "CIM_ERR_NOT_FOUND")}))
    assert found[missing] == 1
    # This scrape's own connection is open while the server counts.
    assert found[("cimprovider_http_connections_open", frozenset())] >= 1
    assert ("cimprovider_enumeration_contexts_open", frozenset()) in found
    assert ("cimprovider_indication_subscriptions", frozenset()) in found
    assert ("cimprovider_indication_deliveries_pending", frozenset()) in found
    assert any(name == "cimprovider_jobs" for name, _ in found)  # the power jobs above


def _missing_vm(conn):
    path = conn.EnumerateInstanceNames("Msvm_ComputerSystem")[0].copy()
    path["Name"] = "00000000-0000-0000-0000-000000000000"
    return path


def test_openmetrics_when_the_client_asks(server):
    content_type, text = scrape(server.url, accept="application/openmetrics-text; version=1.0.0,text/plain;q=0.5")
    assert content_type.startswith("application/openmetrics-text")
    assert text.endswith("# EOF\n")
    names = {family.name for family in openmetrics_families(text)}
    assert {"cimprovider_vm_state", "cimprovider_vm_cpu_seconds", "cimprovider_operation_duration_seconds",
            "cimprovider_host_memory_bytes"} <= names


def test_reader_role_is_enough_and_anonymous_is_refused(tmp_path):
    users = tmp_path / "users.json"
    UsersFile(users).add("watcher", "watcher-pw", "reader")
    with in_process_server(tmp_path / "data", users_file=users, metrics_interval_seconds=0.2) as live:
        with pytest.raises(urllib.error.HTTPError) as refused:
            scrape(live.url)
        assert refused.value.code == 401
        with pytest.raises(urllib.error.HTTPError) as wrong:
            scrape(live.url, auth="Basic " + base64.b64encode(b"watcher:nope").decode())
        assert wrong.value.code == 401
        _, text = scrape(live.url, auth="Basic " + base64.b64encode(b"watcher:watcher-pw").decode())
        assert ("cimprovider_host_logical_processors", frozenset()) in series(text)


def test_each_storage_root_shows_its_size_and_free_space(tmp_path: Path) -> None:
    root = tmp_path / "images"
    root.mkdir()
    with in_process_server(tmp_path / "data", storage_roots=[root]) as live:
        found = series(scrape(live.url)[1])
    labels = frozenset({("root", str(root))})
    assert found[("cimprovider_storage_root_size_bytes", labels)] == shutil.disk_usage(root).total
    assert 0 < found[("cimprovider_storage_root_free_bytes", labels)] <= shutil.disk_usage(root).total
