"""`cimprovider serve` and its connection limits as an operator meets
them: a flood of refused connections is summarised in the log, and the
open-file limit is raised to what max_connections needs."""

from __future__ import annotations

import itertools
import re
import resource
import signal
import ssl
import time
from contextlib import ExitStack

from cimprovider.logs import BURST
from tests.support.live import serve_process
from tests.support.rawhttp import admitted, connect, enumerate_request, exchange, read_response, trickle_until_closed

REFUSED = 120
SUMMARY = re.compile(r"(\d+) similar messages suppressed in \S+ s; the last: refused connection from 127\.0\.0\.1")


def test_refused_connections_do_not_write_a_line_each(tmp_path):
    with serve_process("--data-dir", str(tmp_path), "--port", "0", "--max-connections-per-client", "2") as served:
        port = served.ports["http"]
        with ExitStack() as stack:
            for _ in range(2):
                stack.enter_context(admitted(port))
            statuses = [answer.status if (answer := exchange(port)) else None for _ in range(REFUSED)]
        assert statuses == [503] * REFUSED
        assert served.stop(signal.SIGTERM) == 0
        # The process has exited; its output is read to the end by a thread.
        deadline = time.monotonic() + 60
        while not any(SUMMARY.search(line) for line in served.output) and time.monotonic() < deadline:
            time.sleep(0.05)
    refusal_lines = [line for line in served.output if "refused connection from" in line and "suppressed" not in line]
    summaries = [int(match.group(1)) for line in served.output if (match := SUMMARY.search(line))]
    assert len(refusal_lines) <= BURST
    assert summaries, "no summary of the suppressed lines:\n" + "".join(served.output)
    assert len(refusal_lines) + sum(summaries) == REFUSED


def soft_open_file_limit(pid: int) -> int:
    with open(f"/proc/{pid}/limits") as limits:
        line = next(line for line in limits if line.startswith("Max open files"))
    return int(line.split()[3])


def test_open_file_limit_is_raised_for_max_connections(tmp_path):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard >= 2048, "this test needs a hard open-file limit of at least 2048"

    def low_soft_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    with serve_process("--port", "0", "--data-dir", str(tmp_path), preexec_fn=low_soft_limit) as served:
        assert soft_open_file_limit(served.process.pid) >= 1024 + 256
        assert exchange(served.ports["http"]).status == 200


def test_open_file_limit_too_low_for_max_connections_is_warned(tmp_path):
    def low_hard_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, 512))

    with serve_process("--port", "0", "--data-dir", str(tmp_path), preexec_fn=low_hard_limit) as served:
        assert exchange(served.ports["http"]).status == 200
    assert any("max_connections 1024 needs about" in line and "limit is 512" in line for line in served.output)


def test_https_connections_have_the_same_deadlines_and_share_the_count(tmp_path, certificate):
    cert, key = certificate
    config = tmp_path / "server.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\nheader_timeout_seconds = 1\nmax_connections_per_client = 2\n')
    tls = ssl.create_default_context(cafile=str(cert))
    args = ("--config", str(config), "--port", "0", "--https-port", "0", "--certfile", str(cert), "--keyfile", str(key))
    with serve_process(*args, expect_https=True) as served:
        https = served.ports["https"]
        with connect(https, tls=tls) as sock:
            pieces = itertools.chain([b"POST /cimom HTTP/1.1\r\nHost: x\r\nX-Slow: "], itertools.repeat(b"a"))
            answer = trickle_until_closed(sock, pieces)
        assert answer is not None and answer.startswith(b"HTTP/1.1 408 ")
        with ExitStack() as stack:
            stack.enter_context(admitted(https, tls=tls))
            stack.enter_context(admitted(served.ports["http"]))
            # One HTTPS and one HTTP connection held: the address is at its limit on both.
            with connect(https, tls=tls) as third:
                third.sendall(enumerate_request())
                refused = read_response(third)
            assert refused is not None and refused.status == 503
