from __future__ import annotations

import pytest

from tests.integration.model.hyperv import NS
from tests.support.live import LiveServer, in_process_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with in_process_server(tmp_path_factory.mktemp("model")) as live:
        yield live


@pytest.fixture
def conn(server: LiveServer):
    return server.connection(NS)
