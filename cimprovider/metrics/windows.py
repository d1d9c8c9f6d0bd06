"""Metering windows, as Hyper-V's resource metering keeps them: per VM,
once collection is enabled, figures aggregated since the window started
(average CPU in MHz, average/minimum/maximum memory, data read and written
per disk, normalized I/O operations, disk latency, traffic per network
adapter). Reset starts a new window; disable stops and forgets it. Windows
are stored at every interval, so collection survives a restart.

As on Hyper-V, metering can be on for some of a VM's metrics only (a
window lists the definitions it serves, or serves all), and one metric can
be reset alone: it then has a window of its own, started at the reset and
fed by the same samples, while the others keep theirs."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from uuid import UUID

from cimprovider.database import Database
from cimprovider.metrics.samples import VmSample


@dataclass
class DeviceTotals:
    read_bytes: int = 0
    write_bytes: int = 0
    normalized_ios: int = 0
    latency_ms_sum: float = 0.0  # over intervals with requests
    latency_intervals: int = 0
    received_bytes: int = 0
    sent_bytes: int = 0

    @property
    def latency_ms(self) -> float:
        return self.latency_ms_sum / self.latency_intervals if self.latency_intervals else 0.0


@dataclass
class MeteringWindow:
    vm_id: UUID
    started_at: float  # wall clock
    updated_at: float
    seconds: float = 0.0  # time covered by samples (the VM may have been off)
    cpu_mhz_seconds: float = 0.0
    running_seconds: float = 0.0
    memory_mb_seconds: float = 0.0
    memory_min_mb: int = 0
    memory_max_mb: int = 0
    devices: dict[UUID, DeviceTotals] = field(default_factory=dict)
    definitions: list[str] | None = None  # the metrics metered (definition GUIDs); None: all

    @property
    def average_cpu_mhz(self) -> int:
        return int(self.cpu_mhz_seconds / self.seconds) if self.seconds else 0

    @property
    def average_memory_mb(self) -> int:
        return int(self.memory_mb_seconds / self.running_seconds) if self.running_seconds else 0

    def total(self, name: str) -> int:
        return int(sum(getattr(d, name) for d in self.devices.values()))

    def add(self, s: VmSample) -> None:
        self.updated_at = s.at
        if s.seconds <= 0:
            return
        self.seconds += s.seconds
        self.cpu_mhz_seconds += s.cpu_mhz * s.seconds
        if s.memory_mb:
            self.running_seconds += s.seconds
            self.memory_mb_seconds += s.memory_mb * s.seconds
            self.memory_min_mb = min(self.memory_min_mb or s.memory_mb, s.memory_mb)
            self.memory_max_mb = max(self.memory_max_mb, s.memory_mb)
        for drive_id, disk in s.disks.items():
            totals = self.devices.setdefault(drive_id, DeviceTotals())
            totals.read_bytes += disk.read_bytes
            totals.write_bytes += disk.write_bytes
            totals.normalized_ios += disk.normalized_ios
            if disk.latency_ms:
                totals.latency_ms_sum += disk.latency_ms
                totals.latency_intervals += 1
        for adapter_id, nic in s.nics.items():
            totals = self.devices.setdefault(adapter_id, DeviceTotals())
            totals.received_bytes += nic.received_bytes
            totals.sent_bytes += nic.sent_bytes

    def to_json(self) -> str:
        record = asdict(self)
        record["vm_id"] = str(self.vm_id)
        record["devices"] = {str(k): asdict(v) for k, v in self.devices.items()}
        return json.dumps(record)

    @classmethod
    def from_json(cls, text: str) -> "MeteringWindow":
        record = json.loads(text)
        record["vm_id"] = UUID(record["vm_id"])
        record["devices"] = {UUID(k): DeviceTotals(**v) for k, v in record["devices"].items()}
        return cls(**record)


class MeteringWindows:
    def __init__(self, path: Path) -> None:
        self._db = Database(path)
        with self._db.transaction() as db:
            db.execute("CREATE TABLE IF NOT EXISTS windows (vm_id TEXT PRIMARY KEY, body TEXT NOT NULL)")
        self._lock = threading.Lock()
        self._windows: dict[UUID, MeteringWindow] = {}
        # A metric reset alone: (VM, definition GUID) -> its own window.
        self._own: dict[UUID, dict[str, MeteringWindow]] = {}
        for key, body in self._db.connection().execute("SELECT vm_id, body FROM windows").fetchall():
            window = MeteringWindow.from_json(body)
            if "/" in key:
                self._own.setdefault(window.vm_id, {})[key.split("/", 1)[1]] = window
            else:
                self._windows[window.vm_id] = window

    def enabled(self, vm_id: UUID) -> bool:
        with self._lock:
            return vm_id in self._windows

    def window(self, vm_id: UUID) -> MeteringWindow | None:
        with self._lock:
            return self._windows.get(vm_id)

    def definition_window(self, vm_id: UUID, definition: str) -> MeteringWindow | None:
        """The window a metric's values come from; None while it is not metered."""
        with self._lock:
            window = self._windows.get(vm_id)
            if window is None or (window.definitions is not None and definition not in window.definitions):
                return None
            return self._own.get(vm_id, {}).get(definition, window)

    def enable(self, vm_id: UUID, now: float, definitions: frozenset[str] | None = None) -> None:
        """Meters the metrics (all if None) from now on; a running window
        keeps its figures (enabling twice changes nothing, as on Hyper-V)."""
        with self._lock:
            window = self._windows.get(vm_id)
            if window is None:
                window = self._windows[vm_id] = MeteringWindow(vm_id, now, now, definitions=_listed(definitions))
            elif window.definitions is not None:
                window.definitions = None if definitions is None else sorted(set(window.definitions) | definitions)
            self._store([window])

    def restrict(self, vm_id: UUID, definitions: frozenset[str]) -> None:
        """Meters only these metrics of the VM (none: metering is off)."""
        if not definitions:
            self.disable(vm_id)
            return
        with self._lock:
            window = self._windows.get(vm_id)
            if window is None:
                return
            window.definitions = sorted(definitions)
            dropped = [d for d in self._own.get(vm_id, {}) if d not in definitions]
            for definition in dropped:
                del self._own[vm_id][definition]
            self._store([window])
            self._delete([f"{vm_id}/{d}" for d in dropped])

    def reset(self, vm_id: UUID, now: float, definitions: frozenset[str] | None = None) -> None:
        """Restarts the window (all its metrics), or only these metrics'."""
        with self._lock:
            window = self._windows.get(vm_id)
            if definitions is None or window is None:
                kept = window.definitions if window is not None else None
                self._windows[vm_id] = MeteringWindow(vm_id, now, now, definitions=kept)
                self._delete([f"{vm_id}/{d}" for d in self._own.pop(vm_id, {})])
                self._store([self._windows[vm_id]])
                return
            own = self._own.setdefault(vm_id, {})
            for definition in definitions:
                own[definition] = MeteringWindow(vm_id, now, now)
            self._store([own[d] for d in definitions], [f"{vm_id}/{d}" for d in definitions])

    def disable(self, vm_id: UUID) -> None:
        with self._lock:
            self._windows.pop(vm_id, None)
            self._own.pop(vm_id, None)
            with self._db.transaction() as db:
                db.execute("DELETE FROM windows WHERE vm_id = ? OR vm_id LIKE ?", (str(vm_id), f"{vm_id}/%"))

    def on_samples(self, samples: list[VmSample]) -> None:
        with self._lock:
            touched, keys = [], []
            for s in samples:
                window = self._windows.get(s.vm_id)
                if window is not None:
                    window.add(s)
                    touched.append(window)
                    keys.append(str(s.vm_id))
                    for definition, own in self._own.get(s.vm_id, {}).items():
                        own.add(s)
                        touched.append(own)
                        keys.append(f"{s.vm_id}/{definition}")
            self._store(touched, keys)

    def close(self) -> None:
        self._db.close()

    def _store(self, windows: list[MeteringWindow], keys: list[str] | None = None) -> None:
        """Rows are keyed by the VM, and by VM/definition for a metric's own window."""
        if not windows:
            return
        keys = keys if keys is not None else [str(w.vm_id) for w in windows]
        with self._db.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO windows (vm_id, body) VALUES (?, ?)",
                [(key, w.to_json()) for key, w in zip(keys, windows)],
            )

    def _delete(self, keys: list[str]) -> None:
        if keys:
            with self._db.transaction() as db:
                db.executemany("DELETE FROM windows WHERE vm_id = ?", [(key,) for key in keys])


def _listed(definitions: frozenset[str] | None) -> list[str] | None:
    return None if definitions is None else sorted(definitions)
