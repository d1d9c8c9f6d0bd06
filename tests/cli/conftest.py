"""Client commands against real servers: an in-process server per module
(each module gets its own data directory, so VMs do not leak between
modules), a CliRunner that points CIMPROVIDER_SERVER at it, and a helper to
run `python -m cimprovider.cli` as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cimprovider.cli.main import cli
from tests.support.live import LiveServer, in_process_server

NS = "root/virtualization/v2"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with in_process_server(tmp_path_factory.mktemp("cli")) as live:
        yield live


def client_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without any CIMPROVIDER_* the developer may
    have set, so the tests see the documented defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIMPROVIDER_")}
    env["CIMPROVIDER_CLIENT_CONFIG"] = os.devnull
    return {**env, **(extra or {})}


@pytest.fixture
def cimprovider(server: LiveServer) -> Callable[..., Result]:
    """`cimprovider ARGS` through CliRunner against the module's server;
    stdout and stderr kept apart."""
    runner = CliRunner(mix_stderr=False)

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        environment = {k: None for k in os.environ if k.startswith("CIMPROVIDER_")}
        environment.update({"CIMPROVIDER_SERVER": server.url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull})
        environment.update(env or {})
        return runner.invoke(cli, list(args), input=input, env=environment, catch_exceptions=False)

    return run


def run_json(run: Callable[..., Result], *args: str, **kwargs):
    result = run(*args, "-o", "json", **kwargs)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def subprocess_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real command, as a user's shell runs it: stdout and stderr are pipes."""
    return subprocess.run([sys.executable, "-m", "cimprovider.cli", *args], capture_output=True, text=True,
                          env=client_env(env), cwd=REPO, timeout=timeout)
