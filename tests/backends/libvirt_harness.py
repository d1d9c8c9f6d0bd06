"""The fixtures of the tests that speak of libvirt alone: the harness on
libvirt's test driver only (not every backend, as conftest's), and the
backend it opens. Test modules import them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cimprovider.backends.libvirt import LibvirtBackend
from conftest import BackendHarness


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[BackendHarness]:
    harness = BackendHarness("libvirt", tmp_path / "data")
    yield harness
    harness.close_all()


@pytest.fixture
def backend(harness: BackendHarness) -> LibvirtBackend:
    return harness.open()  # type: ignore[return-value]
