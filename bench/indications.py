"""Indication delivery: latency from raise to receipt by a pywbem
WBEMListener (p50, p99) at a steady rate, and sustained indications per
second to one and to ten listeners.

The indication service runs in this process over a fresh data directory
(the HTTP front end plays no part in delivery); each listener is a real
pywbem WBEMListener on loopback, subscribed with a DMTF:CQL filter on
Msvm_ComputerSystem state changes. Every raised change matches.

    python bench/indications.py [--rate 1000] [--seconds 3] [--burst 3000]

Target: p99 < 100 ms at 1,000 indications/s to one listener.

Where the time goes: each burst also reports the CPU this process spends
per indication delivered (routing, encoding, HTTP) and the CPU each
listener process spends per indication it receives. The listener's own
ceiling is measured first: a bare client posting ready-made request bytes
to a fresh listener, one connection at a time as it requires, with the
bench's small instances and with instances the size of the model's
Msvm_ComputerSystem. On a machine shared with other work, wall-clock rates
vary from run to run; the CPU figures are steadier.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
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
            self.latencies, self.cpu_seconds = self._pipe.recv()
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
        cpu = time.process_time()
        with arrived:
            while len(latencies) < expected and time.monotonic() < deadline:
                arrived.wait(0.5)
            pipe.send((list(latencies), time.process_time() - cpu))
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
          f"max {max(lat) * 1000:.1f} ms; load {os.getloadavg()[0]:.1f}")


def burst(service: IndicationService, receivers: list[Receiver], count: int) -> None:
    for receiver in receivers:
        receiver.expect(count)
    changes = [change(i) for i in range(count)]  # built beforehand: the publisher's cost, not ours
    start = time.perf_counter()
    cpu = time.process_time()
    for item in changes:
        service.publish(item)
    for receiver in receivers:
        receiver.wait(120)
    elapsed = time.perf_counter() - start
    ours = time.process_time() - cpu
    delivered = sum(r.count for r in receivers)
    p99 = percentile([x for r in receivers for x in r.latencies], 99)
    listener_cpu = sum(r.cpu_seconds for r in receivers) / max(1, delivered)
    print(f"burst of {count} to {len(receivers)} listener(s): {delivered} delivered in {elapsed:.2f} s = "
          f"{delivered / elapsed:.0f} indications/s in all, {count / elapsed:.0f}/s per listener "
          f"(p99 {p99 * 1000:.0f} ms); CPU per indication: ours {ours / max(1, delivered) * 1000:.3f} ms, "
          f"listener {listener_cpu * 1000:.3f} ms; load {os.getloadavg()[0]:.1f}")


def model_sized_vm(repository: ClassRepository, state: int, stamp: float) -> CIMInstance:
    """An Msvm_ComputerSystem as the model renders it (every property)."""
    from types import SimpleNamespace
    from uuid import uuid4

    from cimprovider.indications.model_source import ModelView
    from cimprovider.providers.virtualization.render import Renderer
    from cimprovider.providers.virtualization.systems.systems import vm_values
    from cimprovider.schemas.host import Host
    from cimprovider.schemas.vm import VirtualMachine

    renderer = Renderer(repository, V2)
    virt = SimpleNamespace(renderer=renderer, host_name="bench-host", namespace=V2, requested={}, state_since={})
    view = ModelView(virt, Host.model_construct())  # type: ignore[arg-type]
    values = vm_values(view, VirtualMachine(id=uuid4(), name="bench-vm"))  # type: ignore[arg-type]
    values.update(EnabledState=state, Caption=repr(stamp))
    return renderer.instance("Msvm_ComputerSystem", values)


def request_bytes(port: int, body: bytes) -> bytes:
    head = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/xml; charset=utf-8\r\n"
            f"Accept: application/xml\r\nContent-Length: {len(body)}\r\nCIMExport: MethodRequest\r\n"
            "CIMExportMethod: ExportIndication\r\nCIMProtocolVersion: 1.0\r\n\r\n")
    return head.encode() + body


def ceiling(repository: ClassRepository, count: int) -> None:
    """The listener alone: ready request bytes posted one connection at a
    time, as fast as it answers."""
    from cimprovider.indications.source import IndicationStamp, delivered_copy
    from cimprovider.wire import write_export_request

    stamp = IndicationStamp("bench-host")
    for label, make in (("bench instances", lambda s: vm(s, time.monotonic())),
                        ("model-sized instances", lambda s: model_sized_vm(repository, s, time.monotonic()))):
        indication = stamp.stamp(V2, InstanceChange(ChangeKind.MODIFIED, V2, make(2), make(3)).indication())
        body = write_export_request("1.1", delivered_copy(indication, indication, "bench", "ctx", 1))
        receiver = Receiver()
        receiver.start()
        try:
            request = request_bytes(receiver.port, body)
            receiver.expect(count)
            start = time.perf_counter()
            for _ in range(count):
                with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as sock:
                    sock.sendall(request)
                    while sock.recv(65536):
                        pass
            elapsed = time.perf_counter() - start
            receiver.wait(60)
        finally:
            receiver.stop()
        print(f"listener ceiling, {label} ({len(body)} bytes): {count / elapsed:.0f} indications/s, "
              f"listener CPU {receiver.cpu_seconds / max(1, receiver.count) * 1000:.3f} ms each; "
              f"load {os.getloadavg()[0]:.1f}")


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
    with tempfile.TemporaryDirectory() as tmp:
        ceiling(ClassRepository.load(cache_dir=Path(tmp) / "cache"), args.burst)
    run(args, 1)
    run(args, 10)


if __name__ == "__main__":
    main()
