"""A simulated guest that crashed stays crashed across a server restart:
the real `cimprovider serve` process is stopped and started again on the
same data directory, and the VM still reads off and Critical Failure /
Error with why (not off and healthy) until it is started again; after
that start, another restart finds it healthy."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from cimprovider.cli.main import cli
from tests.support.alerts import wait_until
from tests.support.live import ServeProcess, serve_process

FAULT = "SimulatedGuestFault"


def run(served: ServeProcess, *args: str) -> str:
    environment: dict[str, str | None] = {k: None for k in os.environ if k.startswith("CIMPROVIDER_")}
    environment.update({"CIMPROVIDER_SERVER": served.url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull})
    result = CliRunner(mix_stderr=False).invoke(cli, list(args), env=environment, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def system(served: ServeProcess, name: str) -> dict:
    return next(v for v in json.loads(run(served, "enum", "Msvm_ComputerSystem", "-o", "json")) if v.get("ElementName") == name)


def health(served: ServeProcess, name: str) -> tuple[int, int, list[int]]:
    vm = system(served, name)
    return vm["EnabledState"], vm["HealthState"], vm["OperationalStatus"]


def serve(data: Path):  # type: ignore[no-untyped-def]
    return serve_process("--port", "0", "--data-dir", str(data), "--metrics-interval-seconds", "0.2")


def test_a_crash_is_still_there_after_a_restart_until_the_vm_starts(tmp_path: Path) -> None:
    with serve(tmp_path) as first:
        run(first, "vm", "new", "crashing")
        run(first, "vm", "start", "crashing")
        run(first, "vm", "kvp", "set", "crashing", FAULT, "crash")
        wait_until("the crash", lambda: health(first, "crashing") == (3, 25, [6]))
        assert first.stop() == 0

    with serve(tmp_path) as second:
        restarted = system(second, "crashing")
        assert (restarted["EnabledState"], restarted["HealthState"], restarted["OperationalStatus"]) == (3, 25, [6])
        assert "crashed" in restarted["StatusDescriptions"][0]
        run(second, "vm", "start", "crashing")
        wait_until("the VM running and healthy", lambda: health(second, "crashing") == (2, 5, [2]))
        run(second, "vm", "kvp", "remove", "crashing", FAULT)
        run(second, "vm", "stop", "crashing")
        wait_until("the VM off", lambda: health(second, "crashing")[0] == 3)
        assert second.stop() == 0

    with serve(tmp_path) as third:
        assert health(third, "crashing") == (3, 5, [2])  # turned off by request: off and healthy
