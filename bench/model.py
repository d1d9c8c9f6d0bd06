"""The Hyper-V model at scale: with N VMs defined on the simulated backend,
  enumerate — server-side time of EnumerateInstances(Msvm_ComputerSystem)
              (CIMApplication.operate, as the HTTP layer runs it), cold and
              warm (the per-VM instance cache), against pywbem's parse of
              the same response in a client process of its own (target:
              server ≤ 10 % of parse);
  define    — DefineSystem latency through the server, per call;
  memory    — server RSS per VM (after defining and one enumeration).

    python bench/model.py [N ...]        (default: 1000 10000)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from html import escape
from pathlib import Path

from pywbem import CIMInstance

from client_parse import client_parse

from cimprovider.cimom import ANONYMOUS_ADMIN
from cimprovider.schemas.config import ServerConfig
from cimprovider.schemas.vm import SystemSettings
from cimprovider.server import build_application

NAMESPACE = "root/virtualization/v2"
DEFINE_SAMPLES = 200
_NS_XML = '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="virtualization"/><NAMESPACE NAME="v2"/></LOCALNAMESPACEPATH>'


def envelope(inner: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        f'<MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ>{inner}</SIMPLEREQ></MESSAGE></CIM>'
    ).encode()


def enumerate_request() -> bytes:
    return envelope(
        f'<IMETHODCALL NAME="EnumerateInstances">{_NS_XML}'
        '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Msvm_ComputerSystem"/></IPARAMVALUE>'
        '<IPARAMVALUE NAME="DeepInheritance"><VALUE>TRUE</VALUE></IPARAMVALUE></IMETHODCALL>'
    )


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


def measure(n: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        found = {}
        config = ServerConfig(data_dir=Path(data_dir), host_name="benchhost", transition_seconds=0.0)
        app = build_application(config, [lambda reg, cat, parts: found.update(parts=parts)])
        provider = found["parts"].registry.instance_provider(NAMESPACE, "Msvm_ComputerSystem")
        backend = provider.virt.backend  # type: ignore[attr-defined]

        latencies = []
        for i in range(DEFINE_SAMPLES):
            body = define_request("benchhost", f"defined-{i}")
            started = time.perf_counter()
            answer = app.operate(body, ANONYMOUS_ADMIN)
            latencies.append(time.perf_counter() - started)
            assert b'<VALUE>0</VALUE>' in answer.body, answer.body[:400]
        rss_before = rss_bytes()
        for i in range(n - DEFINE_SAMPLES):
            backend.define_vm(SystemSettings(name=f"vm-{i}"))
        body = enumerate_request()
        timings = []
        for _ in range(4):
            started = time.perf_counter()
            answer = app.operate(body, ANONYMOUS_ADMIN)
            timings.append(time.perf_counter() - started)
        rss_after = rss_bytes()
        parse, count = client_parse(answer.body)
        assert count == n + 1, f"pywbem parsed {count} instances, expected {n} VMs and the host"
        cold, warm = timings[0], min(timings[1:])
        print(
            f"N={n:>6}  enumerate: {len(answer.body) / 1e6:5.1f} MB, server cold {cold * 1e3:7.1f} ms "
            f"warm {warm * 1e3:7.1f} ms, pywbem parse {parse * 1e3:7.1f} ms, ratio warm {warm / parse * 100:4.1f} % "
            f"cold {cold / parse * 100:4.1f} %"
        )
        print(
            f"          DefineSystem: median {statistics.median(latencies) * 1e3:5.2f} ms, "
            f"p95 {sorted(latencies)[int(len(latencies) * 0.95)] * 1e3:5.2f} ms over {DEFINE_SAMPLES} calls;  "
            f"RSS per VM {(rss_after - rss_before) / max(1, n - DEFINE_SAMPLES) / 1024:5.1f} KiB"
        )
        for close in found["parts"].on_shutdown:
            close()


def main(argv: list[str]) -> None:
    for n in [int(a) for a in argv] or [1000, 10000]:
        measure(n)


if __name__ == "__main__":
    main(sys.argv[1:])
