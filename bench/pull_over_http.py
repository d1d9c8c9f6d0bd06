"""A pull enumeration against one EnumerateInstances, as a client sees
them over HTTP on loopback: a real server (`cimprovider serve`, simulated
backend, N VMs), one kept-alive connection, raw HTTP/1.1.

The client reads each reply whole and finds EndOfSequence and the
EnumerationContext in the reply's tail (they follow IRETURNVALUE), so it
costs little besides the kernel's copy; it does not parse the instances
(bench/enumerate_instances.py prices pywbem's parse apart). For each N,
as the best of R repeats:

  - one EnumerateInstances of Msvm_ComputerSystem;
  - one pull enumeration of it with MaxObjectCount 100 (OpenEnumerateInstances
    and every PullInstancesWithPath up to EndOfSequence), and its ratio to
    the enumeration (target ≤ 1.5×);
  - what each pull round trip costs beyond its share of the enumeration's
    bytes, in wall time and in the server's CPU (user + system of its
    process, averaged over the repeats);
  - GetInstance of a VM: p50 wall time, its inverse (requests per second
    for one client) and the server's CPU per request;
  - the floor: as many round trips, each with a page's bytes, against a
    bare uvicorn server that does no CIM work (bench/http_floor.py), as a
    multiple of the fastest enumeration: what the HTTP stack alone costs.

The machine may be shared, so the load average is printed with each
figure. `--compare PYTHON` runs a second server from another checkout's
interpreter (a venv with that checkout installed) and measures both in
turns, each round on both, so they are compared under the same load.

    python bench/pull_over_http.py [N ...] [--repeats R] [--rounds K] [--compare PYTHON]
        (default: 1000 10000, 20 repeats, 1 round)
"""

from __future__ import annotations

import os
import re
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from concurrency import ENUMERATE, GET, Operation, _read_reply, populate, start_server
from enumerate_instances import _NS_XML, iparam
from http_floor import measure_floor

_TAIL = 2048  # the out parameters after IRETURNVALUE fit in far less
_CONTEXT = re.compile(rb'NAME="EnumerationContext"[^>]*>(?:<VALUE>([^<]*)</VALUE>)?')
_END = re.compile(rb'NAME="EndOfSequence"[^>]*><VALUE>(TRUE|FALSE)</VALUE>', re.IGNORECASE)
MAX_OBJECTS = 100
OPEN = (
    '<IMETHODCALL NAME="OpenEnumerateInstances">' + _NS_XML
    + iparam("ClassName", '<CLASSNAME NAME="Msvm_ComputerSystem"/>')
    + iparam("MaxObjectCount", f"<VALUE>{MAX_OBJECTS}</VALUE>") + "</IMETHODCALL>"
)
PULL = (
    '<IMETHODCALL NAME="PullInstancesWithPath">' + _NS_XML
    + iparam("EnumerationContext", "<VALUE>{context}</VALUE>")
    + iparam("MaxObjectCount", f"<VALUE>{MAX_OBJECTS}</VALUE>") + "</IMETHODCALL>"
)


class Client:
    """One kept-alive connection, its replies read into one buffer."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.view = memoryview(bytearray(64 * 1024 * 1024))

    def ask(self, name: str, body: str) -> int:
        """Send one operation; the length of its reply, at self.view[:length]."""
        self.sock.sendall(Operation(name, body, b"", 0).request(""))
        return _read_reply(self.sock, self.view)

    def tail(self, length: int) -> bytes:
        return bytes(self.view[max(0, length - _TAIL) : length])

    def close(self) -> None:
        self.sock.close()


class Cpu:
    """The server process's CPU seconds (user + system) since the last take."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.last = self._now()

    def _now(self) -> float:
        times = self.process.cpu_times()
        return times.user + times.system

    def take(self) -> float:
        now = self._now()
        spent, self.last = now - self.last, now
        return spent


def enumerate_once(client: Client) -> tuple[float, int]:
    started = time.perf_counter()
    length = client.ask("EnumerateInstances", ENUMERATE)
    return time.perf_counter() - started, length


def pull_once(client: Client) -> tuple[float, int, int]:
    """Seconds, round trips and bytes of one whole pull enumeration."""
    started = time.perf_counter()
    length = client.ask("OpenEnumerateInstances", OPEN)
    trips, size = 1, length
    while True:
        tail = client.tail(length)
        end = _END.search(tail)
        if end is None:
            raise RuntimeError(f"reply without EndOfSequence: {tail[-300:]!r}")
        if end.group(1).upper() == b"TRUE":
            return time.perf_counter() - started, trips, size
        context = _CONTEXT.search(tail).group(1).decode()
        length = client.ask("PullInstancesWithPath", PULL.format(context=context))
        trips, size = trips + 1, size + length


def get_once(client: Client, vm: str) -> float:
    started = time.perf_counter()
    client.ask("GetInstance", GET.format(name=vm))
    return time.perf_counter() - started


@dataclass
class Served:
    label: str
    server: object
    port: int
    vms: list[str]


def measure_round(served: Served, n: int, repeats: int) -> tuple[float, int]:
    """Print one round's figures; return the enumeration's seconds and the
    pull's round trips."""
    client = Client(served.port)
    cpu = Cpu(served.server.pid)  # type: ignore[attr-defined]
    load = os.getloadavg()[0]
    # Five times as many: the kernel counts CPU time in 10 ms ticks.
    enum = min(enumerate_once(client) for _ in range(repeats * 5))
    enum_cpu = cpu.take() / (repeats * 5)
    pull = min(pull_once(client) for _ in range(repeats))
    pull_cpu = cpu.take() / repeats
    gets = sorted(get_once(client, served.vms[i % len(served.vms)]) for i in range(repeats * 50))
    get_cpu = cpu.take() / (repeats * 50)
    client.close()
    seconds, trips, size = pull
    # Each round trip carries its share of the enumeration's bytes; what it
    # costs beyond that share is the price of one more round trip.
    per_trip = (seconds - enum[0] * size / enum[1]) / trips
    per_trip_cpu = (pull_cpu - enum_cpu * size / enum[1]) / trips
    get_p50 = gets[len(gets) // 2]
    prefix = f"  {served.label}: " if served.label else "  "
    print(
        f"{prefix}N={n} load {load:4.2f}: EnumerateInstances {enum[0] * 1e3:6.2f} ms ({enum[1] / 1e6:.1f} MB, "
        f"server CPU {enum_cpu * 1e3:5.2f} ms); pull {trips} round trips {seconds * 1e3:6.2f} ms "
        f"= {seconds / enum[0]:4.2f}x (server CPU {pull_cpu / enum_cpu:4.2f}x); each round trip "
        f"{per_trip * 1e6:4.0f} µs wall, {per_trip_cpu * 1e6:4.0f} µs server CPU beyond its bytes; "
        f"GetInstance p50 {get_p50 * 1e6:4.0f} µs ({1 / get_p50:5.0f} req/s), server CPU {get_cpu * 1e6:4.0f} µs",
        flush=True,
    )
    return enum[0], trips


def print_floor(enumeration: float, trips: int) -> None:
    """What the pull's round trips would cost on a bare uvicorn (h11)
    server that does no CIM work at all (bench/http_floor.py), against the
    best enumeration measured: the least the pull could cost."""
    floor = measure_floor(MAX_OBJECTS * 3_600)
    alone = floor.wall * trips
    print(
        f"  floor: a bare uvicorn (h11) round trip with a page of {MAX_OBJECTS} VMs costs {floor.wall * 1e6:4.0f} µs "
        f"wall ({floor.cpu * 1e6:4.0f} µs server CPU); {trips} of them alone take {alone * 1e3:5.1f} ms "
        f"= {alone / enumeration:4.2f}x the fastest EnumerateInstances above",
        flush=True,
    )


def serve(label: str, python: str, data_dir: Path, n: int) -> Served:
    data_dir.mkdir()
    vms = populate(python, data_dir, n)
    server, port = start_server(python, data_dir)
    return Served(label, server, port, vms)


def measure(n: int, repeats: int, rounds: int, compare: str | None) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        servers = [serve("this checkout" if compare else "", sys.executable, Path(scratch) / "this", n)]
        try:
            if compare:
                servers.append(serve(compare, compare, Path(scratch) / "compared", n))
            for served in servers:  # warm: the kept replies are built
                client = Client(served.port)
                for _ in range(3):
                    enumerate_once(client)
                    pull_once(client)
                client.close()
            measured = [measure_round(served, n, repeats) for _ in range(rounds) for served in servers]
            print_floor(min(seconds for seconds, _ in measured), measured[0][1])
        finally:
            for served in servers:
                served.server.terminate()  # type: ignore[attr-defined]
                served.server.wait(timeout=60)  # type: ignore[attr-defined]


def main(argv: list[str]) -> None:
    def option(name: str, default: str | None) -> str | None:
        return argv[argv.index(name) + 1] if name in argv else default

    repeats = int(option("--repeats", "20") or 20)
    rounds = int(option("--rounds", "1") or 1)
    compare = option("--compare", None)
    options = ("--repeats", "--rounds", "--compare")
    numbers = [int(a) for i, a in enumerate(argv) if a.isdigit() and (i == 0 or argv[i - 1] not in options)]
    for n in numbers or [1000, 10000]:
        measure(n, repeats, rounds, compare)


if __name__ == "__main__":
    main(sys.argv[1:])
