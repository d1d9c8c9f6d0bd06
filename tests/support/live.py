"""A real server on an ephemeral loopback port, for tests: in-process
(uvicorn in a thread, so tests can add providers) or as a `cimprovider
serve` subprocess (to test the command itself)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pywbem
import uvicorn

from cimprovider.http.protocol import uvicorn_http_options
from cimprovider.schemas.config import ServerConfig
from cimprovider.server import Extension, build_application
from cimprovider.serving import bound_ports, connection_limits


@dataclass
class LiveServer:
    url: str
    port: int
    data_dir: Path

    def connection(self, namespace: str = "root/interop", creds=None, **kwargs) -> pywbem.WBEMConnection:
        return pywbem.WBEMConnection(self.url, creds, default_namespace=namespace, timeout=30, **kwargs)


@contextmanager
def in_process_server(
    data_dir: Path, extensions: list[Extension] | None = None, **config: object
) -> Iterator[LiveServer]:
    settings = ServerConfig(host="127.0.0.1", port=0, data_dir=data_dir, transition_seconds=0.05, **config)
    app = build_application(settings, extensions)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            **uvicorn_http_options(connection_limits(settings), app.connection_gate),
            lifespan="on",
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
    )
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = bound_ports(server)[0]
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", port, data_dir)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


LISTENING = re.compile(r"listening on (https?)://[^:]+:(\d+)/cimom")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING) ")


def said(stderr: str) -> list[str]:
    """What `cimprovider serve` says on stderr, without its log lines (timestamped)."""
    return [line for line in stderr.splitlines() if line.strip() and not LOG_LINE.match(line)]


@dataclass
class ServeProcess:
    process: subprocess.Popen
    ports: dict[str, int]
    output: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['http']}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


@contextmanager
def serve_process(
    *args: str,
    env: dict[str, str] | None = None,
    expect_https: bool = False,
    expect_http: bool = True,
    preexec_fn: Callable[[], None] | None = None,
) -> Iterator[ServeProcess]:
    """`cimprovider serve ARGS` until it prints where it listens;
    `preexec_fn` runs in the child first (to set resource limits)."""
    command = [sys.executable, "-m", "cimprovider.cli", "serve", *args]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=preexec_fn,
    )
    ports: dict[str, int] = {}
    output: list[str] = []
    wanted = {"http"} if expect_http else set()
    if expect_https:
        wanted.add("https")
    try:
        deadline = time.monotonic() + 60
        while set(ports) != wanted:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("cimprovider serve exited:\n" + "".join(output))
            output.append(line)
            match = LISTENING.search(line)
            if match:
                ports[match.group(1)] = int(match.group(2))
            if time.monotonic() > deadline:
                raise RuntimeError("cimprovider serve did not start:\n" + "".join(output))
        threading.Thread(target=lambda: output.extend(process.stdout), daemon=True).start()
        yield ServeProcess(process, ports, output)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
