"""Several servers at once: one table with a HOST column, asked in
parallel; a server that stops halfway is named on stderr (exit 6) while
the other's rows are still printed."""

from __future__ import annotations

import json
from contextlib import ExitStack
from urllib.parse import urlsplit

from tests.cli.conftest import subprocess_cli
from tests.support.live import in_process_server


def test_two_servers_then_one_stopped(tmp_path, cimprovider):
    with ExitStack() as stack:
        first = stack.enter_context(in_process_server(tmp_path / "a"))
        second_stack = ExitStack()
        second = second_stack.enter_context(in_process_server(tmp_path / "b"))
        both = ("--server", first.url, "--server", second.url)
        for url, name in ((first.url, "on-a"), (second.url, "on-b")):
            assert cimprovider("vm", "new", name, "--server", url).exit_code == 0
        table = cimprovider("vm", "list", *both)
        assert table.exit_code == 0
        lines = table.stdout.splitlines()
        assert lines[0].split()[:3] == ["HOST", "NAME", "STATE"]
        hosts = {line.split()[1]: line.split()[0] for line in lines[1:]}
        assert hosts == {"on-a": urlsplit(first.url).netloc, "on-b": urlsplit(second.url).netloc}
        rows = json.loads(cimprovider("vm", "list", *both, "-o", "json").stdout)
        assert [r["name"] for r in rows] == ["on-a", "on-b"]  # in the order the servers were given

        second_stack.close()  # the second server goes away halfway

        result = subprocess_cli("vm", "list", *both, "-o", "json")
        assert result.returncode == 6
        assert [r["name"] for r in json.loads(result.stdout)] == ["on-a"]
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith(f"cimprovider: vm list on {urlsplit(second.url).netloc}: cannot connect")
        summary = cimprovider("vm", "summary", *both)
        assert summary.exit_code == 6 and "on-a" in summary.stdout
        alone = cimprovider("vm", "list", "--server", second.url)
        assert alone.exit_code == 3


def test_a_vm_command_needs_one_server(cimprovider, server):
    result = cimprovider("vm", "start", "x", "--server", server.url, "--server", "http://127.0.0.1:9")
    assert result.exit_code == 2 and "exactly one --server" in result.stderr
