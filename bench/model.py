"""The Hyper-V model at scale: with N VMs defined on the simulated backend,
  enumerate    — server-side time of EnumerateInstances(Msvm_ComputerSystem)
                 (CIMApplication.operate, as the HTTP layer runs it), cold
                 and warm, against pywbem's parse of the same response in a
                 client process of its own;
  define       — DefineSystem latency through the server with N VMs there;
  get          — GetInstance of one VM through the server;
  associators  — every association from one VM (its Msvm_ComputerSystem):
                 the total of Associators over all association classes, and
                 per class the time of its AssociatorNames, Associators,
                 References and ReferenceNames (target: the same at 10,000
                 VMs as at 100, within 2x);
  memory       — this process's RSS per VM after defining and enumerating
                 (bench/model_memory.py measures a real server process).

    python bench/model.py [N ...]        (default: 100 1000 10000)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from html import escape
from pathlib import Path

from pywbem import CIMInstance, CIMInstanceName

from client_parse import client_parse

from cimprovider.cimom import ANONYMOUS_ADMIN
from cimprovider.providers.base import AssociationProvider
from cimprovider.schemas.config import ServerConfig
from cimprovider.schemas.vm import SystemSettings
from cimprovider.server import build_application

NAMESPACE = "root/virtualization/v2"
DEFINE_SAMPLES = 200
GET_SAMPLES = 500
ASSOCIATION_REPEATS = 5
_NS_XML = '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="virtualization"/><NAMESPACE NAME="v2"/></LOCALNAMESPACEPATH>'
_OPERATIONS = ("AssociatorNames", "Associators", "ReferenceNames", "References")


def envelope(inner: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        f'<MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ>{inner}</SIMPLEREQ></MESSAGE></CIM>'
    ).encode()


def intrinsic(name: str, params: str) -> bytes:
    return envelope(f'<IMETHODCALL NAME="{name}">{_NS_XML}{params}</IMETHODCALL>')


def enumerate_request(classname: str = "Msvm_ComputerSystem") -> bytes:
    return intrinsic(
        "EnumerateInstances",
        f'<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="{classname}"/></IPARAMVALUE>'
        '<IPARAMVALUE NAME="DeepInheritance"><VALUE>TRUE</VALUE></IPARAMVALUE>',
    )


def instance_name_xml(path: CIMInstanceName) -> str:
    local = path.copy()
    local.namespace = None
    local.host = None
    return local.tocimxmlstr()


def get_request(path: CIMInstanceName) -> bytes:
    return intrinsic("GetInstance", f'<IPARAMVALUE NAME="InstanceName">{instance_name_xml(path)}</IPARAMVALUE>')


def association_request(operation: str, path: CIMInstanceName, assoc_class: str | None) -> bytes:
    params = f'<IPARAMVALUE NAME="ObjectName">{instance_name_xml(path)}</IPARAMVALUE>'
    if assoc_class is not None:
        name = "AssocClass" if operation.startswith("Associator") else "ResultClass"
        params += f'<IPARAMVALUE NAME="{name}"><CLASSNAME NAME="{assoc_class}"/></IPARAMVALUE>'
    return intrinsic(operation, params)


def define_request(host: str, name: str) -> bytes:
    vssd = CIMInstance("Msvm_VirtualSystemSettingData", properties={"ElementName": name}).tocimxmlstr()
    keys = {"CreationClassName": "Msvm_VirtualSystemManagementService", "Name": "vmms",
            "SystemCreationClassName": "Msvm_ComputerSystem", "SystemName": host}
    keyxml = "".join(f'<KEYBINDING NAME="{k}"><KEYVALUE VALUETYPE="string">{v}</KEYVALUE></KEYBINDING>' for k, v in keys.items())
    return envelope(
        f'<METHODCALL NAME="DefineSystem"><LOCALINSTANCEPATH>{_NS_XML}'
        f'<INSTANCENAME CLASSNAME="Msvm_VirtualSystemManagementService">{keyxml}</INSTANCENAME></LOCALINSTANCEPATH>'
        f'<PARAMVALUE NAME="SystemSettings" PARAMTYPE="string" EmbeddedObject="instance"><VALUE>{escape(vssd)}</VALUE></PARAMVALUE>'
        "</METHODCALL>"
    )


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def timed(app, body: bytes) -> tuple[float, bytes]:
    started = time.perf_counter()
    answer = app.operate(body, ANONYMOUS_ADMIN)
    elapsed = time.perf_counter() - started
    assert answer.status == 200 and b"<ERROR" not in answer.body, answer.body[:400]
    return elapsed, answer.body


def best(app, body: bytes, repeats: int = ASSOCIATION_REPEATS) -> float:
    return min(timed(app, body)[0] for _ in range(repeats))


def association_classes(parts) -> list[str]:
    served = parts.registry.served_classes(NAMESPACE)
    return sorted(c for c in served if parts.registry.association_provider(NAMESPACE, c) is not None)


def measure_associations(app, parts, vm: CIMInstanceName) -> None:
    total = best(app, association_request("Associators", vm, None))
    print(f"          associators of one VM, all classes: {total * 1e3:7.2f} ms")
    rows = []
    for classname in association_classes(parts):
        times = [best(app, association_request(op, vm, classname), 3) for op in _OPERATIONS]
        rows.append((max(times), classname, times))
    rows.sort(reverse=True)
    print("          per class (ms):               " + "  ".join(f"{op:>14}" for op in _OPERATIONS))
    for _, classname, times in rows[:12]:
        print(f"            {classname:<36}" + "  ".join(f"{t * 1e3:14.3f}" for t in times))


def measure(n: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        found = {}
        config = ServerConfig(data_dir=Path(data_dir), host_name="benchhost", transition_seconds=0.0)
        app = build_application(config, [lambda reg, cat, parts: found.update(parts=parts)])
        parts = found["parts"]
        backend = parts.registry.instance_provider(NAMESPACE, "Msvm_ComputerSystem").virt.backend
        rss_before = rss_bytes()
        samples = min(DEFINE_SAMPLES, n // 2)
        one = backend.define_vm(SystemSettings(name="vm-measured"))
        for i in range(n - 1 - samples):
            backend.define_vm(SystemSettings(name=f"vm-{i}"))
        defines = [timed(app, define_request("benchhost", f"defined-{i}"))[0] for i in range(samples)]
        body = enumerate_request()
        timings = [timed(app, body)[0] for _ in range(4)]
        answer = app.operate(body, ANONYMOUS_ADMIN)
        rss_after = rss_bytes()
        parse, count = client_parse(answer.body)
        assert count == n + 1, f"pywbem parsed {count} instances, expected {n} VMs and the host"
        vm = CIMInstanceName("Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem", "Name": str(one.id).upper()})
        gets = [timed(app, get_request(vm))[0] for _ in range(GET_SAMPLES)]
        cold, warm = timings[0], min(timings[1:])
        print(
            f"N={n:>6}  enumerate: {len(answer.body) / 1e6:5.1f} MB, server cold {cold * 1e3:7.1f} ms "
            f"warm {warm * 1e3:7.1f} ms, pywbem parse {parse * 1e3:7.1f} ms, ratio warm {warm / parse * 100:4.1f} % "
            f"cold {cold / parse * 100:4.1f} %"
        )
        print(
            f"          DefineSystem: p50 {statistics.median(defines) * 1e3:5.2f} ms, "
            f"p95 {sorted(defines)[int(len(defines) * 0.95)] * 1e3:5.2f} ms over the last {samples} of {n} VMs;  "
            f"GetInstance(VM): p50 {statistics.median(gets) * 1e3:5.3f} ms;  "
            f"RSS per VM {(rss_after - rss_before) / n / 1024:5.1f} KiB (this process)"
        )
        measure_associations(app, parts, vm)
        for close in parts.on_shutdown:
            close()


def main(argv: list[str]) -> None:
    for n in [int(a) for a in argv] or [100, 1000, 10000]:
        measure(n)


if __name__ == "__main__":
    main(sys.argv[1:])
