"""What trickling clients cost the server, and what the guard against them
costs everyone else.

1. overhead — requests a second over one keep-alive connection (raw
   EnumerateInstanceNames), with the guarded protocol and with uvicorn's
   h11 protocol plus trailers alone, in this process.
2. slow-loris — `cimprovider serve` in a process of its own with
   header_timeout_seconds T; S connections send a request head one byte a
   second, from 127.0.0.2. Prints the answers they got (408 when cut off,
   503 when refused over max_connections_per_client), how long the server
   let the admitted ones trickle (median, max), its open descriptors before,
   at the peak and after, and the latency of an honest pywbem client on
   127.0.0.1 meanwhile (median, 99th percentile).

    python bench/slow_clients.py [S [T]]      (default 300 connections, 5 s)
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pywbem
import uvicorn

from cimprovider.http.protocol import uvicorn_http_options
from cimprovider.http.trailers import TrailerH11Protocol
from cimprovider.schemas.config import ServerConfig
from cimprovider.server import build_application
from cimprovider.serving import bound_ports, connection_limits

BODY = (
    b'<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
    b'<MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateInstanceNames">'
    b'<LOCALNAMESPACEPATH><NAMESPACE NAME="root"></NAMESPACE><NAMESPACE NAME="interop"></NAMESPACE>'
    b'</LOCALNAMESPACEPATH><IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_ObjectManager"></CLASSNAME>'
    b"</IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
)
REQUEST = (
    b"POST /cimom HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nCIMOperation: MethodCall\r\n"
    b"CIMMethod: EnumerateInstanceNames\r\nCIMObject: root/interop\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
)


def requests_per_second(guarded: bool, count: int = 1000) -> float:
    with tempfile.TemporaryDirectory() as data:
        settings = ServerConfig(port=0, data_dir=Path(data))
        http = uvicorn_http_options(connection_limits(settings)) if guarded else {"http": TrailerH11Protocol}
        server = uvicorn.Server(uvicorn.Config(build_application(settings), port=0, log_level="warning", **http))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        with socket.create_connection(("127.0.0.1", bound_ports(server)[0])) as sock:
            started = time.perf_counter()
            for _ in range(count):
                sock.sendall(REQUEST)
                _read_one(sock)
            elapsed = time.perf_counter() - started
        server.should_exit = True
        thread.join()
    return count / elapsed


def _read_one(sock: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
    while len(body) < length:
        body += sock.recv(65536)


def slow_loris(connections: int, header_seconds: float) -> None:
    with tempfile.TemporaryDirectory() as data:
        config = Path(data) / "server.toml"
        config.write_text(f'data_dir = "{data}"\nheader_timeout_seconds = {header_seconds}\nlog_level = "WARNING"\n')
        server = subprocess.Popen(
            [sys.executable, "-m", "cimprovider.cli", "serve", "--config", str(config), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=open(os.environ.get("SLOW_CLIENTS_SERVER_LOG", os.devnull), "w"),
            text=True,
        )
        try:
            port = int(re.search(r":(\d+)/cimom", server.stdout.readline()).group(1))
            _attack(server.pid, port, connections)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait()


def _attack(pid: int, port: int, count: int) -> None:
    served = psutil.Process(pid)
    before = served.num_fds()
    latencies: list[float] = []
    stop = threading.Event()

    def honest() -> None:
        conn = pywbem.WBEMConnection(f"http://127.0.0.1:{port}", default_namespace="root/interop", timeout=60)
        while not stop.is_set():
            started = time.perf_counter()
            conn.EnumerateInstanceNames("CIM_ObjectManager")
            latencies.append(time.perf_counter() - started)
            time.sleep(0.05)

    client = threading.Thread(target=honest)
    client.start()
    opened = time.monotonic()
    # The attacker comes from an address of its own, the honest client from 127.0.0.1.
    attacker = ("127.0.0.2", 0)
    trickling = {socket.create_connection(("127.0.0.1", port), source_address=attacker): opened for _ in range(count)}
    head = b"POST /cimom HTTP/1.1\r\nHost: x\r\nX-Slow: "
    for sock in trickling:
        sock.sendall(head[:1])
    lasted: list[float] = []
    answers: dict[str, int] = {}
    peak = served.num_fds()
    while trickling:
        for sock in list(trickling):
            try:
                sock.send(b"a")
            except OSError:
                pass
        readable = _readable(list(trickling), 1.0)
        peak = max(peak, served.num_fds())
        for sock in readable:
            since = trickling.pop(sock)
            try:
                status = sock.recv(12)[9:12].decode() or "closed"
            except OSError:
                status = "reset"
            answers[status] = answers.get(status, 0) + 1
            if status != "503":
                lasted.append(time.monotonic() - since)
            sock.close()
    stop.set()
    client.join()
    time.sleep(3)  # lingering ends
    print(f"slow-loris: {count} connections trickling a head; answers: {answers}")
    if lasted:
        print(f"  admitted ones cut off after: median {statistics.median(lasted):.1f} s, max {max(lasted):.1f} s")
    print(f"  server descriptors: before {before}, peak {peak}, after {served.num_fds()}")
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"  honest client meanwhile: {len(latencies)} requests, median {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")


def _readable(sockets: list[socket.socket], timeout: float) -> list[socket.socket]:
    # epoll, not select(): descriptors beyond 1024 are the point here.
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            selector.register(sock, selectors.EVENT_READ)
        return [key.fileobj for key, _ in selector.select(timeout)]


def main() -> None:
    connections = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    header_seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    # Alternate, and keep the best of each: other load on the machine only
    # ever slows a run down.
    best = {False: 0.0, True: 0.0}
    for _ in range(3):
        for guarded in (False, True):
            best[guarded] = max(best[guarded], requests_per_second(guarded))
    for guarded, name in ((False, "plain  "), (True, "guarded")):
        print(f"overhead: {name} {best[guarded]:7.0f} requests/s over one keep-alive connection (best of 3)")
    slow_loris(connections, header_seconds)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
