"""Throughput of EnumerateInstances(Msvm_ComputerSystem) with 1 and with 8
concurrent clients against a real server (`cimprovider serve`, simulated
backend, N VMs defined beforehand), and how busy the server keeps the CPU.

Each client is a process of its own speaking raw HTTP/1.1 over one kept-alive
socket: it reads each reply whole into one buffer and checks that it is a
complete CIM-XML answer, but does not parse it, so the client side stays cheap.
Server CPU comes from psutil (user + system time of the server process over
the run, divided by the run's wall time: "cores busy"), shown split into
user (mostly Python) and system (mostly the kernel's copy of the replies);
the clients' CPU (getrusage in each client, summed) is shown beside it,
since on a small machine the clients' own receive copies compete with the
server for the same cores.

Targets: 8 clients ≥ 5× the 23 req/s of the first measurement at 1,000 VMs,
and either 8 clients ≥ 1.5× the throughput of 1 client or the server keeps
more than 1.5 cores busy.

The machine is often shared: each round runs 1 client then 8 clients back
to back and prints the load average and how idle the machine's CPUs were
(an idle share near 0 means the server competed for CPU, and its cores
busy say how much it got).

    python bench/concurrency.py [N] [seconds] [rounds]   (default: 1000 VMs, 10 s, 1 round)
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from cimprovider.schemas.config import ServerConfig
from cimprovider.schemas.vm import SystemSettings
from cimprovider.server import build_application

NAMESPACE = "root/virtualization/v2"
BODY = (
    '<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
    '<MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateInstances">'
    '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="virtualization"/><NAMESPACE NAME="v2"/>'
    '</LOCALNAMESPACEPATH><IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Msvm_ComputerSystem"/></IPARAMVALUE>'
    "</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
).encode()
HEADERS = {
    "Content-Type": 'application/xml; charset="utf-8"',
    "CIMOperation": "MethodCall",
    "CIMMethod": "EnumerateInstances",
    "CIMObject": "root%2Fvirtualization%2Fv2",
}
STARTUP_DEADLINE = 120.0


def populate(data_dir: Path, n: int) -> None:
    """Define the VMs in the data directory the server will then serve."""
    found = {}
    config = ServerConfig(data_dir=data_dir, host_name="benchhost")
    build_application(config, [lambda reg, cat, parts: found.update(parts=parts)])
    provider = found["parts"].registry.instance_provider(NAMESPACE, "Msvm_ComputerSystem")
    for i in range(n):
        provider.virt.backend.define_vm(SystemSettings(name=f"vm-{i}"))  # type: ignore[attr-defined]
    for close in found["parts"].on_shutdown:
        close()


def start_server(data_dir: Path) -> tuple[subprocess.Popen, int]:
    server = subprocess.Popen(
        [sys.executable, "-c", "from cimprovider.cli.main import main; main()", "serve", "--port", "0",
         "--host", "127.0.0.1", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    deadline = time.monotonic() + STARTUP_DEADLINE
    assert server.stdout is not None
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            break
        if "listening on http://" in line:
            return server, int(line.rsplit(":", 1)[1].split("/")[0])
    server.kill()
    raise RuntimeError("the server did not start")


def client(port: int, seconds: float, expected: int, results: multiprocessing.Queue) -> None:
    """One kept-alive connection; each reply is read into one buffer with
    recv_into, so the client costs little besides the kernel's copy. The
    first reply is checked whole (every instance there), the rest by their
    length and end."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    request = _request_bytes()
    buffer = bytearray(64 * 1024 * 1024)
    view = memoryview(buffer)
    done, length = 0, None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.sendall(request)
        reply = _read_reply(sock, view)
        if length is None:
            if bytes(view[:reply]).count(b"<VALUE.NAMEDINSTANCE>") != expected:
                raise RuntimeError("the first reply does not hold every instance")
            length = reply
        if reply != length or not bytes(view[reply - 16:reply]).rstrip().endswith(b"</CIM>"):
            raise RuntimeError(f"bad reply: {reply} bytes")
        done += 1
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results.put((done, usage.ru_utime + usage.ru_stime))


def _request_bytes() -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in HEADERS.items())
    return f"POST /cimom HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: {len(BODY)}\r\n\r\n".encode() + BODY


def _read_reply(sock: socket.socket, view: memoryview) -> int:
    """Read one response; return its body's length, the body at view[:length]."""
    got = 0
    while True:
        got += sock.recv_into(view[got:])
        end = bytes(view[:got]).find(b"\r\n\r\n") if got < 65536 else bytes(view[:65536]).find(b"\r\n\r\n")
        if end >= 0:
            break
    head = bytes(view[:end]).decode("latin-1")
    if not head.startswith("HTTP/1.1 200"):
        raise RuntimeError(f"bad reply: {head.splitlines()[0]}")
    length = next(int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.lower().startswith("content-length:"))
    body_start = end + 4
    have = got - body_start
    view[:have] = view[body_start:got]
    while have < length:
        have += sock.recv_into(view[have:length])
    return length


@dataclass(frozen=True)
class Figures:
    """One run: throughput and where the CPU went, in cores (CPU seconds
    per second of the run)."""

    rate: float  # requests per second
    server_user: float
    server_system: float
    clients: float  # every client process together
    idle: float  # the machine's idle cores

    @property
    def server(self) -> float:
        return self.server_user + self.server_system

    def line(self, label: str) -> str:
        return (
            f"  {label}: {self.rate:7.1f} req/s, server {self.server:4.2f} cores busy "
            f"(user {self.server_user:4.2f}, system {self.server_system:4.2f}), "
            f"clients {self.clients:4.2f}, machine {self.idle:4.2f} idle; "
            f"server {self.server / self.rate * 1e3:5.2f} ms CPU per request"
        )


def run(port: int, server_pid: int, clients: int, seconds: float, expected: int) -> Figures:
    """Throughput and CPU with `clients` clients."""
    results: multiprocessing.Queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=client, args=(port, seconds, expected, results)) for _ in range(clients)]
    server = psutil.Process(server_pid)
    cpu_before, idle_before, started = server.cpu_times(), psutil.cpu_times().idle, time.monotonic()
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=seconds + 300) for _ in workers]
    wall = time.monotonic() - started
    cpu_after, idle_after = server.cpu_times(), psutil.cpu_times().idle
    for worker in workers:
        worker.join()
    total = sum(done for done, _ in outcomes)
    return Figures(
        total / wall,
        (cpu_after.user - cpu_before.user) / wall,
        (cpu_after.system - cpu_before.system) / wall,
        sum(cpu for _, cpu in outcomes) / wall,
        (idle_after - idle_before) / wall,
    )


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 1000
    seconds = float(argv[1]) if len(argv) > 1 else 10.0
    rounds = int(argv[2]) if len(argv) > 2 else 1
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = Path(scratch)
        populate(data_dir, n)
        server, port = start_server(data_dir)
        try:
            run(port, server.pid, 1, 2.0, n + 1)  # warm up
            print(f"N={n} VMs, {seconds:.0f} s per run, {os.cpu_count()} cores")
            for _ in range(rounds):
                print(f"  load average {os.getloadavg()[0]:.2f}")
                single = run(port, server.pid, 1, seconds, n + 1)
                print(single.line("1 client "), flush=True)
                eight = run(port, server.pid, 8, seconds, n + 1)
                print(eight.line("8 clients"), flush=True)
                print(f"  8 clients / 1 client: {eight.rate / single.rate:4.2f}x;  8 clients / 23 req/s: {eight.rate / 23:4.2f}x")
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main(sys.argv[1:])
