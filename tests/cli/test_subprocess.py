"""The command as a shell runs it: `python -m cimprovider.cli` against a
`cimprovider serve` subprocess. Exit codes, data on stdout and errors on
stderr, JSON that parses, and no progress bar when stdout is a pipe."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import REPO, client_env, subprocess_cli
from tests.support.live import serve_process


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    data = tmp_path_factory.mktemp("served")
    with serve_process("--port", "0", "--data-dir", str(data)) as process:
        yield process


def cli(served, *args: str):
    return subprocess_cli(*args, env={"CIMPROVIDER_SERVER": served.url})


def test_a_vm_life_with_exit_codes_and_clean_streams(served):
    made = cli(served, "vm", "new", "shell-vm", "--memory", "1G", "-o", "json")
    assert made.returncode == 0 and made.stderr == ""
    vm_id = json.loads(made.stdout)["id"]
    started = cli(served, "vm", "start", "shell-vm")
    # stdout is a pipe: the job is waited for without a bar, and only the result is printed.
    assert (started.returncode, started.stdout, started.stderr) == (0, "shell-vm started\n", "")
    listed = json.loads(cli(served, "vm", "list", "-o", "json").stdout)
    assert [(r["name"], r["state"], r["id"]) for r in listed] == [("shell-vm", "Running", vm_id)]
    assert cli(served, "vm", "list", "-q").stdout == f"{vm_id}\n"
    refused = cli(served, "vm", "pause", "shell-vm", "--no-wait")
    assert refused.returncode == 0 and refused.stdout.startswith("root/virtualization/v2:Msvm_ConcreteJob.InstanceID=")
    waited = cli(served, "job", "wait", refused.stdout.strip())
    assert waited.returncode == 0 and waited.stderr == ""
    assert cli(served, "vm", "remove", "shell-vm", "--force", "-q").stdout.strip() == vm_id


def test_failures_are_one_line_on_stderr_with_their_exit_code(served):
    missing = cli(served, "vm", "show", "ghost")
    assert (missing.returncode, missing.stdout) == (5, "")
    assert missing.stderr.count("\n") == 1 and missing.stderr.startswith("cimprovider: vm 'ghost': no such virtual machine")
    cli(served, "vm", "new", "off-vm")
    invalid = cli(served, "vm", "pause", "off-vm")
    assert invalid.returncode == 1 and invalid.stderr.count("\n") == 1 and "32775" in invalid.stderr
    job_failed = cli(served, "vm", "set", "off-vm", "--processors", "1", "--memory", "7")
    assert job_failed.returncode == 1 and "job error 32773" in job_failed.stderr and job_failed.stderr.count("\n") == 1
    usage = cli(served, "vm", "new")
    assert usage.returncode == 2 and usage.stdout == ""
    cim_error = cli(served, "enum", "Msvm_NoSuchClass")
    assert cim_error.returncode == 5 and cim_error.stderr.startswith("cimprovider: enum Msvm_NoSuchClass: CIM_ERR_INVALID_CLASS")


def test_unreachable_server_and_bad_urls():
    refused = subprocess_cli("vm", "list", "--server", "http://127.0.0.1:9")
    assert refused.returncode == 3 and refused.stdout == ""
    assert refused.stderr.startswith("cimprovider: vm list: cannot connect:") and "refused" in refused.stderr
    assert refused.stderr.count("\n") == 1
    bad = subprocess_cli("vm", "list", "--server", "ftp://example")
    assert bad.returncode == 2 and "--server" in bad.stderr


def test_tls_failure_is_named(served):
    # An HTTPS client talking to the plain HTTP port: the TLS handshake fails.
    url = served.url.replace("http://", "https://")
    result = subprocess_cli("vm", "list", "--server", url)
    assert result.returncode == 3 and result.stderr.startswith("cimprovider: vm list: ")
    assert "SSL" in result.stderr or "TLS" in result.stderr


def test_defaults_reach_the_local_server_without_flags(tmp_path):
    if not port_free(5988):
        pytest.fail("port 5988 is taken on this machine: this test needs the default port free")
    with serve_process("--port", "5988", "--data-dir", str(tmp_path)):
        result = subprocess_cli("vm", "list", "-o", "json")
        assert result.returncode == 0 and json.loads(result.stdout) == []


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_progress_bar_only_on_a_terminal(served, tmp_path):
    """The same job command: a bar when stdout is a terminal, none on a pipe."""
    storage = served_storage(served)
    piped = cli(served, "vhd", "new", str(storage / "piped.vhdx"), "--size", "64M", "--type", "fixed")
    assert (piped.returncode, piped.stderr) == (0, "") and "%" not in piped.stdout
    main, child = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "cimprovider.cli", "vhd", "new", str(storage / "tty.vhdx"), "--size", "64M",
                                "--type", "fixed"], cwd=REPO, env=client_env({"CIMPROVIDER_SERVER": served.url}),
                               stdout=child, stderr=child)
    os.close(child)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    assert process.wait(timeout=60) == 0
    assert b"100%" in seen and b"created" in seen


def served_storage(served):
    """Where the serve process keeps disk files: <data dir>/storage."""
    index = served.process.args.index("--data-dir")
    root = Path(served.process.args[index + 1]) / "storage"
    root.mkdir(exist_ok=True)
    return root
