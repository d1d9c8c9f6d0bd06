"""Metering windows: figures aggregate over the samples of a window, reset
starts from zero, windows are stored, and a destroyed VM's window goes
with it."""

from __future__ import annotations

from cimprovider.backends.simulated import SimulatedBackend
from cimprovider.metrics.exposition import ServerFigures
from cimprovider.metrics.samples import sample
from cimprovider.metrics.service import Metrics
from cimprovider.metrics.windows import MeteringWindows
from cimprovider.schemas import ServerConfig, SystemSettings
from tests.unit.metrics.test_sampling import DRIVE, counters

FIGURES = ServerFigures(lambda: 0, lambda: 0, lambda: 0, lambda: 0, dict)


def test_figures_aggregate_and_reset_starts_again(tmp_path) -> None:
    windows = MeteringWindows(tmp_path / "metrics.sqlite3")
    vm_id = DRIVE  # the sample's VM
    windows.enable(vm_id, 100.0)
    windows.on_samples([sample(110.0, counters(15, 2 * 1024**2, 10, 50, 3000), counters(10, 0, 0, 0, 1000), 100.0)])
    windows.on_samples([sample(120.0, counters(25, 4 * 1024**2, 20, 100, 5000), counters(15, 2 * 1024**2, 10, 50, 3000), 110.0)])
    window = windows.window(vm_id)
    assert window.seconds == 20 and window.average_cpu_mhz == int((0.25 + 0.5) / 2 * 2 * 2400)
    assert window.total("read_bytes") == 4 * 1024**2 and window.memory_min_mb == window.memory_max_mb == 1024
    windows.close()
    reopened = MeteringWindows(tmp_path / "metrics.sqlite3")
    assert reopened.window(vm_id) == window
    reopened.reset(vm_id, 130.0)
    assert reopened.window(vm_id).seconds == 0 and reopened.window(vm_id).started_at == 130.0
    reopened.disable(vm_id)
    assert reopened.window(vm_id) is None
    reopened.close()


def test_a_destroyed_vm_loses_its_window(tmp_path) -> None:
    backend = SimulatedBackend(ServerConfig(data_dir=tmp_path, transition_seconds=0))
    metrics = Metrics(backend, 1.0, tmp_path / "metrics.sqlite3", FIGURES)
    try:
        vm = backend.define_vm(SystemSettings(name="short-lived"))
        metrics.windows.enable(vm.id, 0.0)
        backend.destroy_vm(vm.id)
        assert not metrics.windows.enabled(vm.id)
    finally:
        metrics.close()
        backend.close()


def test_a_metric_reset_alone_keeps_its_own_window_across_a_restart(tmp_path) -> None:
    windows = MeteringWindows(tmp_path / "metrics.sqlite3")
    vm_id = DRIVE
    windows.enable(vm_id, 100.0, frozenset({"CPU", "READ"}))
    windows.on_samples([sample(110.0, counters(15, 2 * 1024**2, 10, 50, 3000), counters(10, 0, 0, 0, 1000), 100.0)])
    windows.reset(vm_id, 110.0, frozenset({"READ"}))
    windows.on_samples([sample(120.0, counters(25, 4 * 1024**2, 20, 100, 5000), counters(15, 2 * 1024**2, 10, 50, 3000), 110.0)])
    assert windows.definition_window(vm_id, "CPU").seconds == 20
    assert windows.definition_window(vm_id, "READ").seconds == 10 and windows.definition_window(vm_id, "READ").started_at == 110.0
    assert windows.definition_window(vm_id, "WRITTEN") is None  # never enabled
    windows.close()
    reopened = MeteringWindows(tmp_path / "metrics.sqlite3")
    assert reopened.definition_window(vm_id, "READ").started_at == 110.0
    reopened.restrict(vm_id, frozenset({"CPU"}))
    assert reopened.definition_window(vm_id, "READ") is None and reopened.definition_window(vm_id, "CPU").seconds == 20
    reopened.close()
    again = MeteringWindows(tmp_path / "metrics.sqlite3")
    assert again.definition_window(vm_id, "READ") is None
    again.close()
