"""The fixtures of the tests that speak of libvirt alone: the harness on
libvirt's test driver only (not every backend, as conftest's), and the
backend it opens. Test modules import them. And a live server over the
test driver with the backend it runs on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from cimprovider.backends.libvirt import LibvirtBackend
from cimprovider.server import ServerParts
from conftest import LIBVIRT_TEST_URI, BackendHarness
from tests.support.live import LiveServer, in_process_server


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[BackendHarness]:
    harness = BackendHarness("libvirt", tmp_path / "data")
    yield harness
    harness.close_all()


@pytest.fixture
def backend(harness: BackendHarness) -> LibvirtBackend:
    return harness.open()  # type: ignore[return-value]


@contextlib.contextmanager
def sampled_server(data_dir: Path) -> Iterator[tuple[LiveServer, LibvirtBackend]]:
    """A live server over the test driver, sampling every 0.2 s, and the
    backend it runs on: a test calls libvirt's callbacks on that backend's
    connection, as libvirt's event loop would."""
    parts: list[ServerParts] = []
    with in_process_server(data_dir, extensions=[lambda registry, catalog, p: parts.append(p)], backend="libvirt",
                           libvirt_uri=LIBVIRT_TEST_URI, metrics_interval_seconds=0.2) as live:
        assert parts[0].metrics is not None
        backend = parts[0].metrics.backend
        assert isinstance(backend, LibvirtBackend)
        yield live, backend
