"""The backend contract suite runs against every backend listed here.

A harness opens a backend on fresh state and can open it again on the same
state (a restart); a libvirt harness will point at libvirt's test driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cimprovider.backends import Backend, load_backend
from cimprovider.events import EventBus
from cimprovider.schemas import ServerConfig

TRANSITION_SECONDS = 0.05
BACKENDS = ["simulated"]


class BackendHarness:
    def __init__(self, name: str, data_dir: Path) -> None:
        self.name = name
        self.config = ServerConfig(data_dir=data_dir, transition_seconds=TRANSITION_SECONDS, backend=name)
        self._opened: list[Backend] = []

    def open(self, bus: EventBus | None = None) -> Backend:
        backend = load_backend(self.name, self.config, bus)
        self._opened.append(backend)
        return backend

    def close_all(self) -> None:
        for backend in self._opened:
            backend.close()


@pytest.fixture(params=BACKENDS)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BackendHarness]:
    harness = BackendHarness(request.param, tmp_path / "data")
    yield harness
    harness.close_all()


@pytest.fixture
def backend(harness: BackendHarness) -> Backend:
    return harness.open()
