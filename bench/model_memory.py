"""A real `cimprovider serve` process holding N VMs (simulated backend,
its own data directory, a free loopback port):
  memory  — the server's RSS idle, after each of 10 full EnumerateInstances
            of Msvm_ComputerSystem (target: <= 150 MB at 10,000 VMs and not
            growing), and bytes per VM (RSS over that of an empty server);
  get     — GetInstance of one VM over HTTP: p50 of one client, and the
            throughput of 8 concurrent clients (one process each, so the
            clients' own interpreter lock does not throttle them);
  settings — EnumerateInstances of every resource setting (317 MB at
            10,000 VMs), three times: kept within the reply cache's
            default budget (64 MB of memory), the second and third are
            answered from kept replies, not built again.

The VMs are defined straight into the data directory's store before the
server starts, so a large N is quick to set up.

    python bench/model_memory.py [N ...]        (default: 10000)
"""

from __future__ import annotations

import http.client
import multiprocessing
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from model import enumerate_request, get_request

from pywbem import CIMInstanceName

from cimprovider.backends.simulated.backend import SimulatedBackend
from cimprovider.schemas.config import ServerConfig
from cimprovider.schemas.vm import SystemSettings

ENUMERATIONS = 10
SETTINGS = "CIM_ResourceAllocationSettingData"
SETTINGS_ENUMERATIONS = 3
GET_SAMPLES = 2000
CLIENTS = 8
CLIENT_SECONDS = 5.0
_HEADERS = {"Content-Type": 'application/xml; charset="utf-8"', "CIMOperation": "MethodCall", "CIMProtocolVersion": "1.0"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def populate(data_dir: Path, n: int) -> str:
    """Defines n VMs in the store; the name of one of them."""
    backend = SimulatedBackend(ServerConfig(data_dir=data_dir))
    first = backend.define_vm(SystemSettings(name="vm-measured"))
    for i in range(n - 1):
        backend.define_vm(SystemSettings(name=f"vm-{i}"))
    backend.close()
    return str(first.id).upper()


def connect(port: int) -> http.client.HTTPConnection:
    """A keep-alive connection that sends each request at once: http.client
    writes headers and body apart, and Nagle would hold the body back for
    the server's delayed acknowledgement of the headers (40 ms)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def post(conn: http.client.HTTPConnection, operation: str, body: bytes) -> bytes:
    conn.request("POST", "/cimom", body, {**_HEADERS, "CIMMethod": operation, "CIMObject": "root%2Fvirtualization%2Fv2"})
    reply = conn.getresponse()
    data = reply.read()
    assert reply.status == 200 and b"<ERROR" not in data[:2000], data[:400]
    return data


def start_server(data_dir: Path, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "cimprovider.cli", "serve", "--port", str(port), "--data-dir", str(data_dir), "--log-level", "WARNING"],
        stdout=subprocess.DEVNULL, stderr=open(data_dir / "server.log", "wb"),
    )
    deadline = time.monotonic() + 300
    while True:
        try:
            post(connect(port), "EnumerateInstances", enumerate_request("Msvm_VirtualSystemManagementService"))
            return server
        except (OSError, http.client.HTTPException):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see {data_dir / 'server.log'}")
            time.sleep(0.2)


def settled_rss(process: psutil.Process) -> int:
    """The RSS once start-up work in the background (building the VMs'
    instances) is done: two samples a second apart within 1 MiB, or 120 s."""
    last, deadline = process.memory_info().rss, time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = process.memory_info().rss
        if abs(now - last) < 2**20:
            return now
        last = now
    return last


def get_client(port: int, body: bytes, until: float, counts: multiprocessing.Queue) -> None:
    conn = connect(port)
    done = 0
    while time.time() < until:
        post(conn, "GetInstance", body)
        done += 1
    counts.put(done)


def concurrent_gets(port: int, body: bytes) -> float:
    counts: multiprocessing.Queue = multiprocessing.Queue()
    start = time.time() + 1.0
    until = start + CLIENT_SECONDS
    clients = [multiprocessing.Process(target=get_client, args=(port, body, until, counts)) for _ in range(CLIENTS)]
    for client in clients:
        client.start()
    total = sum(counts.get(timeout=120) for _ in clients)
    for client in clients:
        client.join()
    return total / (until - start + 1.0)


def measure_settings(conn: http.client.HTTPConnection, process: psutil.Process) -> str:
    """EnumerateInstances of every resource setting (CIM_ResourceAllocationSettingData),
    the first built, the next from kept replies if they fit the reply
    cache's budget (else built again, as slow as the first)."""
    times, size = [], 0
    for _ in range(SETTINGS_ENUMERATIONS):
        started = time.perf_counter()
        size = len(post(conn, "EnumerateInstances", enumerate_request(SETTINGS)))
        times.append(time.perf_counter() - started)
    return (
        f"          {SETTINGS}: {size / 1e6:.0f} MB reply, first {times[0] * 1e3:,.0f} ms, "
        f"then " + ", ".join(f"{t * 1e3:,.0f}" for t in times[1:]) + " ms (over HTTP, the client's read included); "
        f"RSS after {process.memory_info().rss / 2**20:.0f} MiB"
    )


def measure(n: int, empty_rss: float | None) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = Path(scratch)
        name = populate(data_dir, n) if n else None
        port = free_port()
        server = start_server(data_dir, port)
        try:
            process = psutil.Process(server.pid)
            idle = settled_rss(process)
            if not n:
                return idle
            conn = connect(port)
            after = []
            for _ in range(ENUMERATIONS):
                post(conn, "EnumerateInstances", enumerate_request())
                after.append(process.memory_info().rss)
            path = CIMInstanceName("Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem", "Name": name})
            body = get_request(path)
            gets = []
            for _ in range(GET_SAMPLES):
                started = time.perf_counter()
                post(conn, "GetInstance", body)
                gets.append(time.perf_counter() - started)
            rate = concurrent_gets(port, body)
            settings = measure_settings(conn, process)
            per_vm = (after[-1] - (empty_rss or 0)) / n
            print(
                f"N={n:>6}  server RSS idle {idle / 2**20:6.1f} MiB, after each of {ENUMERATIONS} enumerations "
                + ", ".join(f"{r / 2**20:.0f}" for r in after)
                + f" MiB;  {per_vm:,.0f} bytes per VM (over an empty server's {(empty_rss or 0) / 2**20:.1f} MiB)"
            )
            print(f"          GetInstance over HTTP: p50 {statistics.median(gets) * 1e3:.3f} ms (one client), "
                  f"{CLIENTS} concurrent clients {rate:,.0f} req/s")
            print(settings)
            return idle
        finally:
            server.terminate()
            server.wait(60)


def main(argv: list[str]) -> None:
    empty = measure(0, None)
    for n in [int(a) for a in argv] or [10000]:
        measure(n, empty)


if __name__ == "__main__":
    main(sys.argv[1:])
