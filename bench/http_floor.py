"""What one HTTP round trip costs before any CIM work: a bare ASGI
application that answers every POST with a fixed body, run by uvicorn on
the HTTP implementation and event loop the server uses (h11 on uvloop),
asked by the same raw client as bench/pull_over_http.py.

This is the floor under every operation's round trip on this machine: a
pull enumeration of N instances in pages of P makes N/P + 1 round trips,
so it cannot cost less than that many floors, whatever the server does
per page. Printed per body size (a GetInstance's 3.6 KB, a pull page of
100 VMs' 360 KB) as wall time and the bare server's CPU (user + system)
per round trip, as the best of R runs; with httptools installed, its
figures too (uvicorn's other HTTP implementation, which the server does
not use: its parser refuses M-POST).

    python bench/http_floor.py [--repeats R] [--trips T]
        (default: 5 runs of 2,000 round trips per size)
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import psutil

# Run in a process of its own: binds a loopback port, prints it, serves.
BARE_SERVER = """
import socket, sys, uvicorn
from cimprovider.serving import event_loop
size, http = int(sys.argv[1]), sys.argv[2]
body = b"x" * size
head = [(b"content-type", b'application/xml; charset="utf-8"'), (b"content-length", str(size).encode())]

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": head})
    await send({"type": "http.response.body", "body": body})

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(128)  # connections wait in the backlog until the server runs
print(listener.getsockname()[1], flush=True)
config = uvicorn.Config(app, http=http, lifespan="off", log_level="error", server_header=False)
server = uvicorn.Server(config)
event_loop().run_until_complete(server.serve(sockets=[listener]))
"""
REQUEST_BODY = b"<?xml version='1.0'?>" + b"x" * 500  # about a PullInstancesWithPath's size
PAGE = 100 * 3_600  # a pull page of 100 VMs
SIZES = (("GetInstance-sized (3.6 KB)", 3_600), ("pull page (360 KB)", PAGE))


@dataclass(frozen=True)
class Floor:
    wall: float  # seconds per round trip
    cpu: float  # the bare server's CPU seconds per round trip


def measure_floor(size: int, http: str = "h11", trips: int = 2_000, repeats: int = 5) -> Floor:
    """The best of `repeats` runs of `trips` round trips against a bare
    server answering `size` bytes."""
    server = subprocess.Popen(
        [sys.executable, "-c", BARE_SERVER, str(size), http], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        return _best(port, psutil.Process(server.pid), size, trips, repeats)
    finally:
        server.terminate()
        server.wait(timeout=60)


def _best(port: int, process: psutil.Process, size: int, trips: int, repeats: int) -> Floor:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = (
        b"POST /cimom HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml; charset=utf-8\r\n"
        b"CIMOperation: MethodCall\r\nCIMMethod: PullInstancesWithPath\r\nCIMObject: root/virtualization/v2\r\n"
        b"Content-Length: %d\r\n\r\n" % len(REQUEST_BODY) + REQUEST_BODY
    )
    buffer = memoryview(bytearray(size + 4096))
    for _ in range(200):  # warm: the connection and the server's code paths
        _round_trip(sock, request, buffer, size)
    best = Floor(float("inf"), float("inf"))
    for _ in range(repeats):
        cpu_before = _cpu(process)
        started = time.perf_counter()
        for _ in range(trips):
            _round_trip(sock, request, buffer, size)
        wall = (time.perf_counter() - started) / trips
        cpu = (_cpu(process) - cpu_before) / trips
        best = Floor(min(best.wall, wall), min(best.cpu, cpu))
    sock.close()
    return best


def _round_trip(sock: socket.socket, request: bytes, buffer: memoryview, size: int) -> None:
    sock.sendall(request)
    got = 0
    while True:
        got += sock.recv_into(buffer[got:])
        end = bytes(buffer[: min(got, 4096)]).find(b"\r\n\r\n")
        if end >= 0 and got >= end + 4 + size:
            return


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def implementations() -> list[str]:
    """h11 (the server's), and httptools where it is installed."""
    return ["h11"] + (["httptools"] if importlib.util.find_spec("httptools") else [])


def main(argv: list[str]) -> None:
    repeats = int(argv[argv.index("--repeats") + 1]) if "--repeats" in argv else 5
    trips = int(argv[argv.index("--trips") + 1]) if "--trips" in argv else 2_000
    for http in implementations():
        for label, size in SIZES:
            floor = measure_floor(size, http, trips, repeats)
            print(f"  bare uvicorn ({http}): {label}: {floor.wall * 1e6:4.0f} µs wall, "
                  f"{floor.cpu * 1e6:4.0f} µs server CPU per round trip", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
