from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.live import in_process_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with in_process_server(tmp_path_factory.mktemp("server")) as live:
        yield live


def run_tool(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    tool = shutil.which(argv[0])
    if tool is None:
        # A missing client is a broken test environment, not a reason to skip.
        pytest.fail(f"{argv[0]} is not installed: run tests/run.sh, which installs it")
    return subprocess.run([tool, *argv[1:]], capture_output=True, text=True, timeout=timeout)
