"""Indication delivery: latency from raise to receipt by a pywbem
WBEMListener (p50, p99) at a steady rate, and sustained indications per
second to one and to ten listeners.

The indication service runs in this process over a fresh data directory
(the HTTP front end plays no part in delivery); each listener is a real
pywbem WBEMListener on loopback, subscribed with a DMTF:CQL filter on
Msvm_ComputerSystem state changes. Every raised change matches.

    python bench/indications.py [--rate 1000] [--seconds 3] [--burst 3000]

Target: p99 < 100 ms at 1,000 indications/s to one listener.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from pywbem import CIMInstance, CIMInstanceName, Uint16

from cimprovider.indications import ChangeKind, IndicationService, InstanceChange
from cimprovider.indications.listener import free_port
from cimprovider.indications.records import (
    DESTINATION_CLASS,
    DestinationRecord,
    FilterRecord,
    SubscriptionRecord,
)
from cimprovider.repository import ClassRepository
from pywbem import WBEMListener

V2 = "root/virtualization/v2"
QUERY = ("SELECT * FROM CIM_InstModification WHERE SourceInstance ISA Msvm_ComputerSystem "
         "AND SourceInstance.EnabledState <> PreviousInstance.EnabledState")


class Receiver:
    """A WBEMListener in a process of its own (as a real listener would
    be: it must not share this process's interpreter lock) that notes when
    each indication arrived. Both processes read CLOCK_MONOTONIC."""

    def __init__(self) -> None:
        self.port = free_port()
        self.latencies: list[float] = []
        self.count = 0
        self._pipe, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=_listen, args=(self.port, child), daemon=True)

    def start(self) -> None:
        self._process.start()
        self._pipe.recv()  # listening

    def stop(self) -> None:
        self._pipe.send(None)
        self._process.join(10)

    def expect(self, n: int) -> None:
        self._pipe.send(n)

    def wait(self, timeout: float) -> None:
        if self._pipe.poll(timeout):
            self.latencies = self._pipe.recv()
            self.count = len(self.latencies)


def _listen(port: int, pipe) -> None:
    latencies: list[float] = []
    arrived = threading.Condition()

    def received(indication: CIMInstance, host: str) -> None:
        raised = float(indication["SourceInstance"]["Caption"])
        with arrived:
            latencies.append(time.monotonic() - raised)
            arrived.notify()

    listener = WBEMListener("127.0.0.1", http_port=port)
    listener.add_callback(received)
    listener.start()
    pipe.send("ready")
    while (expected := pipe.recv()) is not None:
        deadline = time.monotonic() + 120
        with arrived:
            while len(latencies) < expected and time.monotonic() < deadline:
                arrived.wait(0.5)
            pipe.send(list(latencies))
            latencies.clear()
    listener.stop()


def vm(state: int, stamp: float) -> CIMInstance:
    keys = {"CreationClassName": "Msvm_ComputerSystem", "Name": "bench-vm"}
    return CIMInstance("Msvm_ComputerSystem",
                       properties={**keys, "EnabledState": Uint16(state), "Caption": repr(stamp)},
                       path=CIMInstanceName("Msvm_ComputerSystem", keybindings=keys, namespace=V2))


def change(i: int) -> InstanceChange:
    now = time.monotonic()
    return InstanceChange(ChangeKind.MODIFIED, V2, vm(2 + i % 2, now), vm(3 - i % 2, now))


def subscribe(service: IndicationService, receivers: list[Receiver]) -> None:
    props = lambda name, **more: {"Name": ("string", name, False), **{k: ("string", v, False) for k, v in more.items()}}
    service.put_filter(FilterRecord("bench", props("bench", Query=QUERY, QueryLanguage="DMTF:CQL")))
    for n, receiver in enumerate(receivers):
        name = f"bench-{n}"
        service.put_destination(DestinationRecord(name, props(
            name, Destination=f"http://127.0.0.1:{receiver.port}", CreationClassName=DESTINATION_CLASS)))
        service.put_subscription(SubscriptionRecord("bench", name, {}))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def steady(service: IndicationService, receiver: Receiver, rate: int, seconds: float) -> None:
    total = int(rate * seconds)
    receiver.expect(total)
    start = time.perf_counter()
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        service.publish(change(i))
    receiver.wait(60)
    lat = receiver.latencies
    print(f"steady {rate}/s for {seconds:g} s to 1 listener: received {receiver.count}/{total}; "
          f"latency p50 {statistics.median(lat) * 1000:.1f} ms, p99 {percentile(lat, 99) * 1000:.1f} ms, "
          f"max {max(lat) * 1000:.1f} ms")


def burst(service: IndicationService, receivers: list[Receiver], count: int) -> None:
    for receiver in receivers:
        receiver.expect(count)
    start = time.perf_counter()
    for i in range(count):
        service.publish(change(i))
    for receiver in receivers:
        receiver.wait(120)
    elapsed = time.perf_counter() - start
    delivered = sum(r.count for r in receivers)
    p99 = percentile([x for r in receivers for x in r.latencies], 99)
    print(f"burst of {count} to {len(receivers)} listener(s): {delivered} delivered in {elapsed:.2f} s = "
          f"{delivered / elapsed:.0f} indications/s in all, {count / elapsed:.0f}/s per listener "
          f"(p99 {p99 * 1000:.0f} ms)")


def run(args: argparse.Namespace, listeners: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        repository = ClassRepository.load(cache_dir=Path(tmp) / "cache")
        service = IndicationService(repository, "bench-host", Path(tmp))
        stack.callback(service.close)
        receivers = [Receiver() for _ in range(listeners)]
        for receiver in receivers:
            receiver.start()
            stack.callback(receiver.stop)
        subscribe(service, receivers)
        burst(service, receivers, 200)  # warm up connections, caches, SQLite
        if listeners == 1:
            steady(service, receivers[0], args.rate, args.seconds)
        burst(service, receivers, args.burst)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--burst", type=int, default=3000)
    args = parser.parse_args()
    run(args, 1)
    run(args, 10)


if __name__ == "__main__":
    main()
