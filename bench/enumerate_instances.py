"""Server-side cost of EnumerateInstances on the Hyper-V model, against
pywbem's own parse of the same reply.

With N VMs defined on the simulated backend, for Msvm_ComputerSystem,
Msvm_VirtualSystemSettingData and every RASD (CIM_ResourceAllocationSettingData
with DeepInheritance), the script times in this process:
  server  — the whole server side of one operation: parse the request,
            dispatch, build or look up the instances, produce every byte of
            the reply (CIMApplication.operate and the reply's chunks, as the
            HTTP layer sends them);
  parse   — pywbem parsing that same reply into objects, as WBEMConnection
            does, in a client process of its own (bench/client_parse.py);
and prints server as a share of parse (target: ≤ 1.6 %). The first call is
reported separately (cold), then the best of several repeats (warm).
Then a pull enumeration of Msvm_ComputerSystem with MaxObjectCount 100,
all its round trips summed, against one warm EnumerateInstances (target:
≤ 1.5×), each the best of 15, the two taken in turns so that a shared
machine's load weighs on both alike.

These are server-side figures in this process; bench/pull_over_http.py
measures the pull against the enumeration as a client sees both over HTTP.

    python bench/enumerate_instances.py [N ...] [CLASS ...]
        (default: 1000 10000 and the three classes; the pull is always of
        Msvm_ComputerSystem)
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

from client_parse import client_parse

from cimprovider.cimom import ANONYMOUS_ADMIN
from cimprovider.schemas.config import ServerConfig
from cimprovider.schemas.vm import SystemSettings
from cimprovider.server import build_application

NAMESPACE = "root/virtualization/v2"
CLASSES = ("Msvm_ComputerSystem", "Msvm_VirtualSystemSettingData", "CIM_ResourceAllocationSettingData")
REPEATS = 3
PAIRED_REPEATS = 15  # the pull against the enumeration: a ratio of two small times
_NS_XML = '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="virtualization"/><NAMESPACE NAME="v2"/></LOCALNAMESPACEPATH>'
_CONTEXT = re.compile(rb'NAME="EnumerationContext"[^>]*>(?:<VALUE>([^<]*)</VALUE>)?')
_END = re.compile(rb'NAME="EndOfSequence"[^>]*><VALUE>(TRUE|FALSE)</VALUE>', re.IGNORECASE)


def envelope(inner: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        f'<MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ>{inner}</SIMPLEREQ></MESSAGE></CIM>'
    ).encode()


def iparam(name: str, value: str) -> str:
    return f'<IPARAMVALUE NAME="{name}">{value}</IPARAMVALUE>'


def enumerate_request(classname: str) -> bytes:
    return envelope(
        f'<IMETHODCALL NAME="EnumerateInstances">{_NS_XML}'
        f'{iparam("ClassName", f"<CLASSNAME NAME={chr(34)}{classname}{chr(34)}/>")}'
        f'{iparam("DeepInheritance", "<VALUE>TRUE</VALUE>")}</IMETHODCALL>'
    )


def open_request(classname: str, max_objects: int) -> bytes:
    return envelope(
        f'<IMETHODCALL NAME="OpenEnumerateInstances">{_NS_XML}'
        f'{iparam("ClassName", f"<CLASSNAME NAME={chr(34)}{classname}{chr(34)}/>")}'
        f'{iparam("MaxObjectCount", f"<VALUE>{max_objects}</VALUE>")}</IMETHODCALL>'
    )


def pull_request(context: str, max_objects: int) -> bytes:
    return envelope(
        f'<IMETHODCALL NAME="PullInstancesWithPath">{_NS_XML}'
        f'{iparam("EnumerationContext", f"<VALUE>{context}</VALUE>")}'
        f'{iparam("MaxObjectCount", f"<VALUE>{max_objects}</VALUE>")}</IMETHODCALL>'
    )


def reply_chunks(app, body: bytes) -> list[bytes]:
    """The whole server side of one operation: every chunk it sends, made
    as the HTTP layer makes them."""
    operate = getattr(app, "operate_in_pieces", app.operate)
    answer = operate(body, ANONYMOUS_ADMIN)
    assert answer.status == 200, answer
    return list(answer.chunks()) if hasattr(answer, "chunks") else [answer.body]


def reply_bytes(app, body: bytes) -> bytes:
    return b"".join(reply_chunks(app, body))


def timed(app, body: bytes) -> tuple[float, bytes]:
    started = time.perf_counter()
    chunks = reply_chunks(app, body)
    seconds = time.perf_counter() - started
    return seconds, b"".join(chunks)


def measure_class(app, classname: str) -> float:
    body = enumerate_request(classname)
    cold, reply = timed(app, body)
    warm = min(timed(app, body)[0] for _ in range(REPEATS))
    parse, count = client_parse(reply)
    print(
        f"  {classname:<34} {count:>7} instances {len(reply) / 1e6:6.1f} MB  server cold {cold * 1e3:8.1f} ms "
        f"warm {warm * 1e3:7.1f} ms  pywbem parse {parse * 1e3:8.1f} ms  share {warm / parse * 100:5.2f} % "
        f"(cold {cold / parse * 100:5.1f} %)",
        flush=True,
    )
    return warm


def measure_pull(app, classname: str, max_objects: int) -> tuple[float, int]:
    """Seconds of server time over every round trip of one pull enumeration."""
    total, trips = 0.0, 0
    seconds, reply = timed(app, open_request(classname, max_objects))
    total, trips = total + seconds, trips + 1
    while _END.search(reply).group(1).upper() != b"TRUE":
        context = _CONTEXT.search(reply).group(1).decode()
        seconds, reply = timed(app, pull_request(context, max_objects))
        total, trips = total + seconds, trips + 1
    return total, trips


def measure_pull_against_enumeration(app, classname: str, max_objects: int) -> tuple[float, tuple[float, int]]:
    """The best of several enumerations and of as many pull enumerations,
    taken in turns so that both meet the same load on a shared machine."""
    body = enumerate_request(classname)
    enumerated, pulled = [], []
    for _ in range(PAIRED_REPEATS):
        enumerated.append(timed(app, body)[0])
        pulled.append(measure_pull(app, classname, max_objects))
    return min(enumerated), min(pulled)


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(n: int, classes: tuple[str, ...] = CLASSES) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        found = {}
        config = ServerConfig(data_dir=Path(data_dir), host_name="benchhost", transition_seconds=0.0)
        app = build_application(config, [lambda reg, cat, parts: found.update(parts=parts)])
        provider = found["parts"].registry.instance_provider(NAMESPACE, "Msvm_ComputerSystem")
        backend = provider.virt.backend  # type: ignore[attr-defined]
        for i in range(n):
            backend.define_vm(SystemSettings(name=f"vm-{i}"))
        print(f"N={n} VMs (load average {os.getloadavg()[0]:.2f})", flush=True)
        for classname in dict.fromkeys((CLASSES[0], *classes)):
            measure_class(app, classname)
        enumerated, pulled = measure_pull_against_enumeration(app, CLASSES[0], 100)
        print(
            f"  pull of {CLASSES[0]}, MaxObjectCount 100: {pulled[1]} round trips, {pulled[0] * 1e3:7.1f} ms in all "
            f"= {pulled[0] / enumerated:4.2f}x one EnumerateInstances ({enumerated * 1e3:5.2f} ms; best of "
            f"{PAIRED_REPEATS} each, taken in turns)",
            flush=True,
        )
        for _ in range(10):
            reply_chunks(app, enumerate_request(CLASSES[0]))
        kept = getattr(app, "kept", None)
        print(
            f"  after 10 more enumerations of {CLASSES[0]}: RSS {rss_bytes() / 2**20:6.1f} MiB"
            + (f", kept replies hold {kept.size / 2**20:5.1f} MiB (budget {kept.budget / 2**20:.0f} MiB of memory)" if kept else ""),
            flush=True,
        )
        for close in found["parts"].on_shutdown:
            close()


def main(argv: list[str]) -> None:
    classes = tuple(a for a in argv if not a.isdigit()) or CLASSES
    for n in [int(a) for a in argv if a.isdigit()] or [1000, 10000]:
        measure(n, classes)


if __name__ == "__main__":
    main(sys.argv[1:])
