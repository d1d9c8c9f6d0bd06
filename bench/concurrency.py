"""Throughput of EnumerateInstances(Msvm_ComputerSystem) with 1 and with 8
concurrent clients against a real server (`cimprovider serve`, simulated
backend, N VMs defined beforehand), and how busy the server keeps the CPU.

Each client is a process of its own speaking raw HTTP/1.1 over one kept-alive
socket: it reads each reply whole into one buffer and checks that it is a
complete CIM-XML answer, but does not parse it, so the client side stays cheap.

Per run it prints:
- throughput (requests per second, all clients together);
- server cores busy: the server process's CPU time (user + system, psutil)
  over the run's wall time, split into user (Python, which runs only while
  its thread holds the interpreter lock: so user is the most the lock can
  have been held) and system (mostly the kernel's copy of the replies, done
  by sender threads without the lock); and the loop thread's own share;
- the clients' CPU (getrusage in each client, summed): on a small machine
  their receive copies compete with the server for the same cores;
- the machine's idle cores over the run, from /proc/stat (idle + iowait;
  and the hypervisor's steal when there is any).

Goals: 8 clients >= 5x the 23 req/s of the first measurement at 1,000 VMs,
and either 8 clients >= 1.5x the throughput of 1 client or the server more
than 1.5 cores busy. The machine is often shared: each round runs 1 client
then 8 clients back to back, and a summary gives the ranges over the rounds
and in how many the goal was met. An idle share near 0 with 8 clients means
the machine's CPU ran out (the server, the clients and other jobs shared
it); the server's user time well under 1 core then says the interpreter
lock was not what limited it.

GetInstance of a VM (each client its own VM) is measured the same way with
`--get`. `--nice-clients K` runs the clients at niceness K (the server
stays at its own), as if they ran elsewhere: on a small machine the 8
clients' processes otherwise take the server's share of the CPU (the
scheduler shares it out per thread), so the figures then say more about
the server and less about the scheduler; the 1-client run is niced too,
so it may lose time to other jobs, and the ratio must be read with that.
`--compare PYTHON` runs a second server, from another checkout's
interpreter (a venv with that checkout installed), beside this one: each
round measures both back to back, so the two are compared under the same
load. `--ceiling` measures bench/copy_server.py the same way, beside the
server: it answers each request with the server's own reply bytes and
does nothing else, so its figures are the most this machine gives for
such replies (1 client and 8): a ratio it cannot reach, no server can.

    python bench/concurrency.py [N] [seconds] [rounds] [--get] [--nice-clients K] [--compare PYTHON] [--ceiling]
        (default: 1000 VMs, 10 s, 1 round, EnumerateInstances)
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

NAMESPACE = "root/virtualization/v2"
_NS_XML = '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="virtualization"/><NAMESPACE NAME="v2"/></LOCALNAMESPACEPATH>'
ENUMERATE = (
    '<IMETHODCALL NAME="EnumerateInstances">' + _NS_XML +
    '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Msvm_ComputerSystem"/></IPARAMVALUE></IMETHODCALL>'
)
GET = (
    '<IMETHODCALL NAME="GetInstance">' + _NS_XML + '<IPARAMVALUE NAME="InstanceName">'
    '<INSTANCENAME CLASSNAME="Msvm_ComputerSystem">'
    '<KEYBINDING NAME="CreationClassName"><KEYVALUE VALUETYPE="string">Msvm_ComputerSystem</KEYVALUE></KEYBINDING>'
    '<KEYBINDING NAME="Name"><KEYVALUE VALUETYPE="string">{name}</KEYVALUE></KEYBINDING>'
    "</INSTANCENAME></IPARAMVALUE></IMETHODCALL>"
)
STARTUP_DEADLINE = 120.0
# Run by the server's own interpreter (perhaps another checkout's): defines
# the VMs and prints their ids.
POPULATE = """
import sys
from pathlib import Path
from cimprovider.schemas.config import ServerConfig
from cimprovider.schemas.vm import SystemSettings
from cimprovider.server import build_application
found = {}
config = ServerConfig(data_dir=Path(sys.argv[1]), host_name="benchhost")
build_application(config, [lambda reg, cat, parts: found.update(parts=parts)])
backend = found["parts"].registry.instance_provider("root/virtualization/v2", "Msvm_ComputerSystem").virt.backend
for i in range(int(sys.argv[2])):
    print(backend.define_vm(SystemSettings(name=f"vm-{i}")).id)
for close in found["parts"].on_shutdown:
    close()
"""


def populate(python: str, data_dir: Path, n: int) -> list[str]:
    """Define the VMs in the data directory the server will then serve.
    (Run there: `python -c` imports from its working directory first, and
    the checkout's own folders are not the installed package.)"""
    done = subprocess.run(
        [python, "-c", POPULATE, str(data_dir), str(n)], capture_output=True, text=True, check=True, cwd=data_dir
    )
    return done.stdout.split()


def start_server(python: str, data_dir: Path) -> tuple[subprocess.Popen, int]:
    server = subprocess.Popen(
        [python, "-c", "from cimprovider.cli.main import main; main()", "serve", "--port", "0",
         "--host", "127.0.0.1", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=data_dir,
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


@dataclass(frozen=True)
class Operation:
    """What each client asks, and how the first reply is checked."""

    name: str
    body: str  # with {name}: the VM's id, one VM per client
    marker: bytes
    expected: int  # how many `marker`s the first reply holds

    def request(self, vm: str) -> bytes:
        body = (
            '<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
            f'<MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ>{self.body.format(name=vm)}</SIMPLEREQ></MESSAGE></CIM>'
        ).encode()
        head = (
            'POST /cimom HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml; charset="utf-8"\r\n'
            f"CIMOperation: MethodCall\r\nCIMMethod: {self.name}\r\nCIMObject: root%2Fvirtualization%2Fv2\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


def client(port: int, seconds: float, operation: Operation, vm: str, results: multiprocessing.Queue, niceness: int) -> None:
    """One kept-alive connection; each reply is read into one buffer with
    recv_into, so the client costs little besides the kernel's copy. The
    first reply is checked whole, the rest by their length and end."""
    os.nice(niceness)
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    request = operation.request(vm)
    buffer = bytearray(64 * 1024 * 1024)
    view = memoryview(buffer)
    done, length = 0, None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.sendall(request)
        reply = _read_reply(sock, view)
        if length is None:
            if bytes(view[:reply]).count(operation.marker) != operation.expected:
                raise RuntimeError(f"the first reply does not hold what {operation.name} asked")
            length = reply
        if reply != length or not bytes(view[reply - 16:reply]).rstrip().endswith(b"</CIM>"):
            raise RuntimeError(f"bad reply: {reply} bytes")
        done += 1
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results.put((done, usage.ru_utime + usage.ru_stime))


def _ack_at_once(sock: socket.socket) -> None:
    """Acknowledge what arrived at once (Linux drops quick-ACK mode by
    itself): a server that writes a reply's head and body apart without
    TCP_NODELAY otherwise waits for the client's delayed ACK (40 ms) under
    Nagle's rule, and the figure would count that timer, not the server."""
    if hasattr(socket, "TCP_QUICKACK"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _read_reply(sock: socket.socket, view: memoryview) -> int:
    """Read one response; return its body's length, the body at view[:length]."""
    got = 0
    while True:
        got += sock.recv_into(view[got:])
        _ack_at_once(sock)
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
class Machine:
    """The whole machine's CPU counters (the first line of /proc/stat), in
    clock ticks: what was idle, and what the hypervisor took (steal)."""

    idle: int
    steal: int

    @classmethod
    def now(cls) -> Machine:
        with open("/proc/stat") as stat:
            fields = [int(f) for f in stat.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal ...
        return cls(idle=fields[3] + fields[4], steal=fields[7] if len(fields) > 7 else 0)


TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Figures:
    """One run: throughput and where the CPU went, in cores (CPU seconds
    per second of the run)."""

    clients: int
    rate: float  # requests per second
    server_user: float
    server_system: float
    loop: float  # the server's main thread: its event loop
    client_cpu: float  # every client process together
    idle: float  # the machine's idle cores (/proc/stat)
    steal: float  # cores the hypervisor gave to other machines
    load: float  # 1-minute load average at the end

    @property
    def server(self) -> float:
        return self.server_user + self.server_system

    def line(self) -> str:
        label = f"{self.clients} client{'s' if self.clients > 1 else ' '}"
        return (
            f"  {label}: {self.rate:7.1f} req/s, server {self.server:4.2f} cores busy "
            f"(user {self.server_user:4.2f}, system {self.server_system:4.2f}; loop thread {self.loop:4.2f}), "
            f"clients {self.client_cpu:4.2f}, machine idle {self.idle:4.2f}"
            + (f", stolen {self.steal:4.2f}" if self.steal >= 0.01 else "")
            + f"; {self.server / self.rate * 1e3:4.2f} ms server CPU per request"
        )


def _main_thread_cpu(server: psutil.Process) -> float:
    """CPU seconds of the server's main thread, which runs the event loop."""
    return next((t.user_time + t.system_time for t in server.threads() if t.id == server.pid), 0.0)


def run(
    port: int, server_pid: int, clients: int, seconds: float, operation: Operation, vms: list[str], niceness: int = 0
) -> Figures:
    """Throughput and CPU with `clients` clients."""
    results: multiprocessing.Queue = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=client, args=(port, seconds, operation, vms[i % len(vms)], results, niceness))
        for i in range(clients)
    ]
    server = psutil.Process(server_pid)
    cpu_before, loop_before, machine_before = server.cpu_times(), _main_thread_cpu(server), Machine.now()
    started = time.monotonic()
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=seconds + 300) for _ in workers]
    wall = time.monotonic() - started
    cpu_after, loop_after, machine_after = server.cpu_times(), _main_thread_cpu(server), Machine.now()
    for worker in workers:
        worker.join()
    total = sum(done for done, _ in outcomes)
    return Figures(
        clients,
        total / wall,
        (cpu_after.user - cpu_before.user) / wall,
        (cpu_after.system - cpu_before.system) / wall,
        (loop_after - loop_before) / wall,
        sum(cpu for _, cpu in outcomes) / wall,
        (machine_after.idle - machine_before.idle) / TICKS / wall,
        (machine_after.steal - machine_before.steal) / TICKS / wall,
        os.getloadavg()[0],
    )


@dataclass
class Served:
    label: str
    server: subprocess.Popen
    port: int
    vms: list[str]


def serve(label: str, python: str, data_dir: Path, n: int) -> Served:
    data_dir.mkdir()
    vms = populate(python, data_dir, n)
    server, port = start_server(python, data_dir)
    return Served(label, server, port, vms)


CEILING_LABEL = "copy server (the machine's ceiling: the same reply's bytes, no CIM work)"


def serve_ceiling(served: Served, operation: Operation, scratch: Path) -> Served:
    """bench/copy_server.py answering every request with the reply the
    real server gives, whole (head and body) as it gave it."""
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=120)
    sock.sendall(operation.request(served.vms[0]))
    view = memoryview(bytearray(64 * 1024 * 1024))
    length = _read_reply(sock, view)
    sock.close()
    head = f'HTTP/1.1 200 OK\r\ncontent-type: application/xml; charset="utf-8"\r\ncontent-length: {length}\r\n\r\n'
    reply_file = scratch / "reply"
    reply_file.write_bytes(head.encode() + bytes(view[:length]))
    copier = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("copy_server.py")), str(reply_file)], stdout=subprocess.PIPE, text=True
    )
    assert copier.stdout is not None
    return Served(CEILING_LABEL, copier, int(copier.stdout.readline()), served.vms)


@dataclass(frozen=True)
class Round:
    single: Figures
    eight: Figures

    @property
    def ratio(self) -> float:
        return self.eight.rate / self.single.rate

    @property
    def met(self) -> bool:
        return self.ratio >= GOAL_RATIO or self.eight.server > GOAL_CORES


GOAL_RATIO = 1.5  # 8 clients' throughput over 1 client's
GOAL_CORES = 1.5  # or the server's cores busy with 8 clients
FIRST_MEASURE = 23.0  # req/s with 8 clients at 1,000 VMs when first measured


def measure_round(served: Served, seconds: float, operation: Operation, niceness: int) -> Round:
    prefix = f"{served.label}: " if served.label else ""
    print(f"  {prefix}load average {os.getloadavg()[0]:.2f}")
    single = run(served.port, served.server.pid, 1, seconds, operation, served.vms, niceness)
    print(single.line(), flush=True)
    eight = run(served.port, served.server.pid, 8, seconds, operation, served.vms, niceness)
    print(eight.line(), flush=True)
    measured = Round(single, eight)
    print(f"  8 clients / 1 client: {measured.ratio:4.2f}x")
    return measured


def _span(values: list[float], form: str) -> str:
    low, high = min(values), max(values)
    return format(low, form) if format(low, form) == format(high, form) else f"{low:{form}}–{high:{form}}"


def summarise(label: str, rounds: list[Round], cores: int, goals: bool) -> None:
    """Ranges over the rounds, and whether the goal was met: 8 clients at
    least 1.5x one client's throughput, or the server more than 1.5 cores
    busy. The server's user time bounds how long any thread held the
    interpreter lock (Python runs only with it; the kernel's copies run
    without): near 1 core, the lock serialises the server; well under 1
    with the machine's idle near 0, the machine's CPU is what ran out,
    shared with the clients and whatever else runs there."""
    single = [r.single for r in rounds]
    eight = [r.eight for r in rounds]
    print(f"{label}summary of {len(rounds)} round(s) on {cores} cores, load average {_span([f.load for f in single + eight], '.2f')}:")
    print(f"  1 client : {_span([f.rate for f in single], '.0f')} req/s, server {_span([f.server for f in single], '.2f')} cores busy, "
          f"machine idle {_span([f.idle for f in single], '.2f')} cores")
    print(f"  8 clients: {_span([f.rate for f in eight], '.0f')} req/s, server {_span([f.server for f in eight], '.2f')} cores busy "
          f"(user, the most the interpreter lock was held: {_span([f.server_user for f in eight], '.2f')}; "
          f"loop thread {_span([f.loop for f in eight], '.2f')}), machine idle {_span([f.idle for f in eight], '.2f')} cores")
    # What one lock or one loop thread would allow, were the CPU free: the
    # server's Python time (user) and its loop thread's time per request.
    ceilings = [(r.eight.rate / r.eight.server_user, r.eight.rate / r.eight.loop, r.single.rate)
                for r in rounds if r.eight.server_user > 0 and r.eight.loop > 0]
    if ceilings:
        print(f"  with free CPU, the interpreter lock would allow at least {_span([c[0] for c in ceilings], '.0f')} req/s "
              f"({_span([c[0] / c[2] for c in ceilings], '.1f')}x one client), "
              f"the loop thread {_span([c[1] for c in ceilings], '.0f')} req/s")
    if not goals:
        print(f"  8 clients / 1 client: {_span([r.ratio for r in rounds], '.2f')}x")
        return
    print(f"  8 clients / 1 client: {_span([r.ratio for r in rounds], '.2f')}x "
          f"(goal: >= {GOAL_RATIO}x, or the server > {GOAL_CORES} cores busy): "
          f"met in {sum(r.met for r in rounds)} of {len(rounds)} round(s)")
    print(f"  8 clients / {FIRST_MEASURE:g} req/s (the first measure): {_span([f.rate / FIRST_MEASURE for f in eight], '.1f')}x (goal: >= 5x)")


def main(argv: list[str]) -> None:
    get = "--get" in argv
    ceiling = "--ceiling" in argv
    compare = argv[argv.index("--compare") + 1] if "--compare" in argv else None
    niceness = int(argv[argv.index("--nice-clients") + 1]) if "--nice-clients" in argv else 0
    valued = ("--compare", "--nice-clients")
    numbers = [a for i, a in enumerate(argv) if not a.startswith("--") and (i == 0 or argv[i - 1] not in valued)]
    n = int(numbers[0]) if numbers else 1000
    seconds = float(numbers[1]) if len(numbers) > 1 else 10.0
    rounds = int(numbers[2]) if len(numbers) > 2 else 1
    operation = (
        Operation("GetInstance", GET, b"<INSTANCE ", 1) if get
        else Operation("EnumerateInstances", ENUMERATE, b"<VALUE.NAMEDINSTANCE>", n + 1)
    )
    with tempfile.TemporaryDirectory() as scratch:
        servers = [serve("this checkout" if compare else "", sys.executable, Path(scratch) / "this", n)]
        try:
            if compare:
                servers.append(serve(f"{compare}", compare, Path(scratch) / "compared", n))
            if ceiling:
                servers.append(serve_ceiling(servers[0], operation, Path(scratch)))
            for served in servers:
                run(served.port, served.server.pid, 1, 2.0, operation, served.vms)  # warm up
            print(f"{operation.name}, N={n} VMs, {seconds:.0f} s per run, {os.cpu_count()} cores"
                  + (f", clients at niceness {niceness}" if niceness else ""))
            measured: dict[str, list[Round]] = {served.label: [] for served in servers}
            for _ in range(rounds):
                for served in servers:
                    measured[served.label].append(measure_round(served, seconds, operation, niceness))
            for served in servers:
                summarise(f"{served.label}: " if served.label else "", measured[served.label], os.cpu_count() or 1, not get)
        finally:
            for served in servers:
                served.server.terminate()
                served.server.wait(timeout=60)


if __name__ == "__main__":
    main(sys.argv[1:])
