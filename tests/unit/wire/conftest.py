from __future__ import annotations

import pytest
from wire_support import WireLoop, install_loop


@pytest.fixture
def loop(monkeypatch: pytest.MonkeyPatch) -> WireLoop:
    return install_loop(monkeypatch)
