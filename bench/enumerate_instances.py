"""Server-side cost of EnumerateInstances against pywbem's own parse time.

A provider serves N synthetic instances of a class with about twenty
properties. For each N the script times, in this process:
  server  — the whole server side of one operation: parse the request,
            dispatch, let the provider build its instances, write the
            response bytes (CIMApplication.operate, as the HTTP layer runs it);
  parse   — pywbem parsing that same response into CIMInstance objects, as
            WBEMConnection does on the client, in a client process of its
            own (bench/client_parse.py);
and prints the ratio (target: server ≤ 10 % of parse). The first call is
reported separately (cold), then the best of several repeats (warm); once
with a provider that keeps its instances built, once with one that builds
them on every call.

    python bench/enumerate_instances.py [N ...]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pywbem import CIMInstance, CIMInstanceName, CIMProperty, Uint16, Uint64

from client_parse import client_parse

from cimprovider.cimom import ANONYMOUS_ADMIN
from cimprovider.providers.base import InstanceProvider, OperationContext, PropertySet, Pushdown
from cimprovider.schemas.config import ServerConfig
from cimprovider.server import build_application

NAMESPACE = "root/virtualization/v2"
CLASSNAME = "CIM_ComputerSystem"


def synthetic(n: int) -> list[CIMInstance]:
    """n instances with 20 properties of the usual kinds (strings, integers,
    arrays, a datetime-free mix, as Msvm_ComputerSystem has)."""
    instances = []
    for i in range(n):
        keys = {"CreationClassName": CLASSNAME, "Name": f"{i:08X}-0000-4000-8000-000000000000"}
        path = CIMInstanceName(CLASSNAME, keybindings=keys, namespace=NAMESPACE)
        props = [
            CIMProperty("CreationClassName", CLASSNAME),
            CIMProperty("Name", keys["Name"]),
            CIMProperty("ElementName", f"vm-{i}"),
            CIMProperty("Caption", "Virtual Machine"),
            CIMProperty("Description", "Microsoft Virtual Machine"),
            CIMProperty("InstanceID", None, type="string"),
            CIMProperty("EnabledState", Uint16(2 if i % 2 else 3)),
            CIMProperty("RequestedState", Uint16(5)),
            CIMProperty("EnabledDefault", Uint16(2)),
            CIMProperty("HealthState", Uint16(5)),
            CIMProperty("OperationalStatus", [Uint16(2)]),
            CIMProperty("StatusDescriptions", ["Operating normally"]),
            CIMProperty("CommunicationStatus", Uint16(2)),
            CIMProperty("PrimaryStatus", Uint16(1)),
            CIMProperty("OtherEnabledState", None, type="string"),
            CIMProperty("NameFormat", None, type="string"),
            CIMProperty("PrimaryOwnerName", "Administrator"),
            CIMProperty("Roles", ["Virtual Machine"]),
            CIMProperty("Dedicated", [Uint16(0)]),
            CIMProperty("ResetCapability", Uint16(1)),
        ]
        instances.append(CIMInstance(CLASSNAME, properties=props, path=path))
    return instances


class SyntheticProvider(InstanceProvider):
    """Serves instances it keeps built (as a provider with a cache
    invalidated by bus events does), or builds them on every call."""

    classnames = (CLASSNAME,)

    def __init__(self, n: int, build_per_call: bool) -> None:
        self.n = n
        self.build_per_call = build_per_call
        self.instances = [] if build_per_call else synthetic(n)

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        return iter(synthetic(self.n) if self.build_per_call else self.instances)


def request(classname: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        '<MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateInstances">'
        '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="virtualization"/><NAMESPACE NAME="v2"/>'
        f'</LOCALNAMESPACEPATH><IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="{classname}"/></IPARAMVALUE>'
        '<IPARAMVALUE NAME="DeepInheritance"><VALUE>FALSE</VALUE></IPARAMVALUE>'
        "</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    ).encode()


def measure(n: int, build_per_call: bool, repeats: int = 3) -> None:
    provider = SyntheticProvider(n, build_per_call)
    with tempfile.TemporaryDirectory() as data_dir:
        config = ServerConfig(data_dir=Path(data_dir))
        serve_only_synthetic = lambda reg, cat, parts: (reg.clear(NAMESPACE), reg.register(NAMESPACE, provider))
        app = build_application(config, [serve_only_synthetic])
        body = request(CLASSNAME)
        timings = []
        for _ in range(repeats + 1):
            started = time.perf_counter()
            answer = app.operate(body, ANONYMOUS_ADMIN)
            timings.append(time.perf_counter() - started)
        assert answer.status == 200
        parse, count = client_parse(answer.body)
        assert count == n, f"pywbem parsed {count} instances, expected {n}"
        cold, warm = timings[0], min(timings[1:])
        print(
            f"{'built per call' if build_per_call else 'kept built':<15} N={n:>6}  response {len(answer.body) / 1e6:6.1f} MB  server cold {cold * 1e3:8.1f} ms  "
            f"warm {warm * 1e3:8.1f} ms  pywbem parse {parse * 1e3:8.1f} ms  "
            f"ratio {warm / parse * 100:5.1f} % (cold {cold / parse * 100:5.1f} %)"
        )


def main(argv: list[str]) -> None:
    for build_per_call in (False, True):
        for n in [int(a) for a in argv] or [1000, 10000]:
            measure(n, build_per_call)


if __name__ == "__main__":
    main(sys.argv[1:])
