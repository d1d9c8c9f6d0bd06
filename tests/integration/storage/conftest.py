from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.model.hyperv import NS
from tests.support.live import LiveServer, in_process_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with in_process_server(tmp_path_factory.mktemp("storage")) as live:
        yield live


@pytest.fixture
def conn(server: LiveServer):
    return server.connection(NS)


@pytest.fixture
def root(server: LiveServer, request: pytest.FixtureRequest) -> Path:
    """A fresh folder inside the server's default storage root."""
    folder = server.data_dir / "storage" / request.node.name.replace("[", "_").replace("]", "")
    folder.mkdir()
    return folder
