"""Soak: many concurrent clients against a real server for a long time.

A `cimprovider serve` process on the simulated backend (its own data
directory, a free loopback port) gets VMS virtual machines, then CLIENTS
pywbem clients (threads spread over worker processes, so the clients' own
interpreter lock does not throttle them) run a mix for MINUTES: enumerations,
GetInstance, associators, WQL queries, pull enumerations, GetSummaryInformation,
power changes of VMs each client owns, and define/destroy of VMs of its own.

Reports errors (target: 0), p50/p99 per operation, and the server's RSS over
time (target: flat after warm-up). Exit 1 if any request failed. With
--auth every client signs in with HTTP Basic (the users file in the data
directory), as a deployment would: all clients share the loopback address,
so any throttling of honest clients would show as errors.

    python bench/soak.py [--vms 500] [--clients 32] [--minutes 10] [--auth]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import psutil
import pywbem
from pywbem import CIMInstance, Uint16, Uint32

from cimprovider.http.auth import UsersFile

NS = "root/virtualization/v2"
# Return codes that mean the call was accepted: done, or a job started.
ACCEPTED = (0, 4096)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# (user, password) every connection signs in with under --auth.
CREDENTIALS: tuple[str, str] | None = None


def connect(url: str) -> pywbem.WBEMConnection:
    return pywbem.WBEMConnection(url, CREDENTIALS, default_namespace=NS, timeout=120)


def service(conn: pywbem.WBEMConnection) -> pywbem.CIMInstanceName:
    return conn.EnumerateInstanceNames("Msvm_VirtualSystemManagementService")[0]


def define(conn: pywbem.WBEMConnection, vmms: pywbem.CIMInstanceName, name: str) -> pywbem.CIMInstanceName:
    settings = CIMInstance("Msvm_VirtualSystemSettingData", properties={"ElementName": name})
    code, out = conn.InvokeMethod("DefineSystem", vmms, SystemSettings=settings.tocimxmlstr(),
                                  ResourceSettings=[])
    if code not in ACCEPTED:
        raise RuntimeError(f"DefineSystem answered {code}")
    return out["ResultingSystem"]


def wait_for_state(conn: pywbem.WBEMConnection, vm: pywbem.CIMInstanceName, state: int,
                   timed: Callable[..., object]) -> None:
    deadline = time.monotonic() + 120
    while timed("GetInstance", conn.GetInstance, vm, PropertyList=["EnabledState"])["EnabledState"] != state:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{vm['Name']} did not reach EnabledState {state} in 120 s")
        time.sleep(0.05)


class Client:
    """One client thread: a connection, VMs of its own, and its records."""

    def __init__(self, url: str, index: int, shared: list[pywbem.CIMInstanceName],
                 latencies: dict[str, list[float]], errors: list[str]) -> None:
        self.conn = connect(url)
        self.index = index
        self.shared = shared
        self.latencies = latencies
        self.errors = errors
        self.rng = random.Random(index)
        self.vmms = service(self.conn)
        self.own = define(self.conn, self.vmms, f"soak-own-{index}")
        self.running = False

    def timed(self, name: str, call: Callable[..., object], *args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        result = call(*args, **kwargs)
        self.latencies[name].append(time.perf_counter() - started)
        return result

    def method(self, name: str, target: object, **params: object) -> dict:
        code, out = self.timed(name, self.conn.InvokeMethod, name, target, **params)
        if code not in ACCEPTED:
            raise RuntimeError(f"{name} answered {code}")
        return out

    def pull_all(self) -> None:
        result = self.timed("OpenEnumerateInstances", self.conn.OpenEnumerateInstances,
                            "Msvm_ComputerSystem", MaxObjectCount=Uint32(100))
        while not result.eos:
            result = self.timed("PullInstancesWithPath", self.conn.PullInstancesWithPath,
                                result.context, MaxObjectCount=Uint32(100))

    def power(self) -> None:
        state = 3 if self.running else 2
        self.method("RequestStateChange", self.own, RequestedState=Uint16(state))
        wait_for_state(self.conn, self.own, state, self.timed)
        self.running = not self.running

    def define_destroy(self) -> None:
        started = time.perf_counter()
        vm = define(self.conn, self.vmms, f"soak-temp-{self.index}")
        self.latencies["DefineSystem"].append(time.perf_counter() - started)
        self.method("DestroySystem", self.vmms, AffectedSystem=vm)

    def one(self) -> None:
        vm = self.rng.choice(self.shared)
        choice = self.rng.random()
        if choice < 0.06:
            self.timed("EnumerateInstances", self.conn.EnumerateInstances, "Msvm_ComputerSystem")
        elif choice < 0.40:
            self.timed("GetInstance", self.conn.GetInstance, vm)
        elif choice < 0.55:
            self.timed("Associators", self.conn.Associators, vm)
        elif choice < 0.65:
            self.timed("ExecQuery", self.conn.ExecQuery, "WQL",
                       f"SELECT * FROM Msvm_ComputerSystem WHERE Name = '{vm['Name']}'")
        elif choice < 0.70:
            self.pull_all()
        elif choice < 0.85:
            self.method("GetSummaryInformation", self.vmms,
                        RequestedInformation=[Uint32(1), Uint32(4), Uint32(101), Uint32(103)],
                        SettingData=[])
        elif choice < 0.93:
            self.power()
        else:
            self.define_destroy()

    def run(self, until: float) -> None:
        while time.time() < until:
            try:
                self.one()
            except Exception as exc:  # noqa: BLE001 - every failure is a finding
                self.errors.append(f"{type(exc).__name__}: {exc}"[:300])


def client_process(url: str, first: int, count: int, until: float,
                   shared: list[pywbem.CIMInstanceName], queue: multiprocessing.Queue,
                   credentials: tuple[str, str] | None) -> None:
    global CREDENTIALS
    CREDENTIALS = credentials
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    clients = [Client(url, first + i, shared, latencies, errors) for i in range(count)]
    threads = [threading.Thread(target=client.run, args=(until,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put((dict(latencies), errors))


def start_server(data_dir: Path, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "cimprovider.cli", "serve", "--port", str(port),
         "--data-dir", str(data_dir), "--log-level", "WARNING"],
        stdout=subprocess.DEVNULL, stderr=open(data_dir / "server.log", "wb"))
    deadline = time.monotonic() + 120
    while True:
        try:
            connect(f"http://127.0.0.1:{port}").EnumerateInstanceNames("Msvm_VirtualSystemManagementService")
            return server
        except pywbem.Error:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see {data_dir / 'server.log'}")
            time.sleep(0.2)


def populate(url: str, count: int) -> list[pywbem.CIMInstanceName]:
    conn = connect(url)
    vmms = service(conn)
    return [define(conn, vmms, f"soak-{i}") for i in range(count)]


def sample_rss(server: subprocess.Popen, stop: threading.Event, started: float,
               samples: list[tuple[float, float]]) -> None:
    process = psutil.Process(server.pid)
    while not stop.wait(10):
        samples.append((time.time() - started, process.memory_info().rss / 2**20))


def report(latencies: dict[str, list[float]], errors: list[str], rss: list[tuple[float, float]],
           seconds: float) -> None:
    total = sum(len(values) for values in latencies.values())
    print(f"\n{total} requests in {seconds:.0f} s ({total / seconds:.0f}/s), errors: {len(errors)}")
    print(f"{'operation':28} {'count':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, values in sorted(latencies.items()):
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"{name:28} {len(values):8d} {statistics.median(values) * 1e3:8.1f} {p99 * 1e3:8.1f}")
    print("server RSS MiB over time: " + ", ".join(f"{t:.0f}s:{mib:.0f}" for t, mib in rss))
    for message, count in sorted(_count(errors).items(), key=lambda item: -item[1])[:20]:
        print(f"  {count:6d} x {message}")


def _count(messages: list[str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for message in messages:
        counts[message] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vms", type=int, default=500)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--auth", action="store_true", help="clients sign in with HTTP Basic")
    args = parser.parse_args()
    global CREDENTIALS
    with tempfile.TemporaryDirectory(prefix="cimprovider-soak-") as scratch:
        if args.auth:
            CREDENTIALS = ("soak", "soak-pw")
            UsersFile(Path(scratch) / "users.json").add(*CREDENTIALS, "admin")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(Path(scratch), port)
        try:
            shared = populate(url, args.vms)
            print(f"{args.vms} VMs defined; {args.clients} clients for {args.minutes} min")
            started = time.time()
            until = started + args.minutes * 60
            rss: list[tuple[float, float]] = []
            stop = threading.Event()
            threading.Thread(target=sample_rss, args=(server, stop, started, rss), daemon=True).start()
            queue: multiprocessing.Queue = multiprocessing.Queue()
            per = [args.clients // args.processes + (i < args.clients % args.processes)
                   for i in range(args.processes)]
            workers = [multiprocessing.Process(target=client_process,
                                               args=(url, sum(per[:i]), n, until, shared, queue, CREDENTIALS))
                       for i, n in enumerate(per) if n]
            for worker in workers:
                worker.start()
            latencies: dict[str, list[float]] = defaultdict(list)
            errors: list[str] = []
            for _ in workers:
                part, failures = queue.get()
                for name, values in part.items():
                    latencies[name].extend(values)
                errors.extend(failures)
            for worker in workers:
                worker.join()
            stop.set()
            report(latencies, errors, rss, time.time() - started)
            return 1 if errors else 0
        finally:
            server.terminate()
            server.wait(60)


if __name__ == "__main__":
    sys.exit(main())
