"""A query for one VM against enumerating every VM, on the real model.

With N VMs defined on the simulated backend: ExecQuery `SELECT * FROM
<class> WHERE ElementName = '<one VM>'` against EnumerateInstances of the
same class, for Msvm_ComputerSystem and Msvm_VirtualSystemSettingData, and
`InstanceID LIKE 'Microsoft:<GUID>%'` on Msvm_MemorySettingData. Server-side
only (CIMApplication.operate: parse, dispatch, build, write), best of a few
runs after a warm-up. Also prints how many instances each built (the
renderer's count). Target: the query costs under 5 % of the enumeration.

    python bench/query_model.py [N]        (default: 10000)
"""

from __future__ import annotations

import sys
import tempfile
import time
from html import escape
from pathlib import Path

from cimprovider.cimom import ANONYMOUS_ADMIN
from cimprovider.schemas.config import ServerConfig
from cimprovider.schemas.vm import SystemSettings
from cimprovider.server import build_application

NAMESPACE = "root/virtualization/v2"
RUNS = 5
_NS_XML = '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="virtualization"/><NAMESPACE NAME="v2"/></LOCALNAMESPACEPATH>'


def envelope(inner: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        f'<MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ>{inner}</SIMPLEREQ></MESSAGE></CIM>'
    ).encode()


def enumerate_request(classname: str) -> bytes:
    return envelope(
        f'<IMETHODCALL NAME="EnumerateInstances">{_NS_XML}'
        f'<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="{classname}"/></IPARAMVALUE>'
        '<IPARAMVALUE NAME="DeepInheritance"><VALUE>TRUE</VALUE></IPARAMVALUE></IMETHODCALL>'
    )


def query_request(text: str) -> bytes:
    return envelope(
        f'<IMETHODCALL NAME="ExecQuery">{_NS_XML}'
        '<IPARAMVALUE NAME="QueryLanguage"><VALUE>WQL</VALUE></IPARAMVALUE>'
        f'<IPARAMVALUE NAME="Query"><VALUE>{escape(text)}</VALUE></IPARAMVALUE></IMETHODCALL>'
    )


def timed(app, body: bytes, renderer) -> tuple[float, int, bytes]:
    """Best server time of RUNS, instances built by the last run, the answer."""
    app.operate(body, ANONYMOUS_ADMIN)  # warm-up: class declarations, per-VM caches
    best = float("inf")
    for _ in range(RUNS):
        before = renderer.rendered
        started = time.perf_counter()
        answer = app.operate(body, ANONYMOUS_ADMIN)
        best = min(best, time.perf_counter() - started)
        built = renderer.rendered - before
    return best, built, answer.body


def measure(n: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        found: dict = {}
        config = ServerConfig(data_dir=Path(data_dir), host_name="benchhost", transition_seconds=0.0)
        app = build_application(config, [lambda reg, cat, parts: found.update(parts=parts)])
        virt = found["parts"].registry.instance_provider(NAMESPACE, "Msvm_ComputerSystem").virt
        started = time.perf_counter()
        vms = [virt.backend.define_vm(SystemSettings(name=f"vm-{i:05}")) for i in range(n)]
        print(f"N={n}: defined in {time.perf_counter() - started:.1f} s")
        target = vms[n // 2]
        guid = str(target.id).upper()
        cases = [
            ("Msvm_ComputerSystem", f"SELECT * FROM Msvm_ComputerSystem WHERE ElementName = '{target.name}'"),
            ("Msvm_VirtualSystemSettingData", f"SELECT * FROM Msvm_VirtualSystemSettingData WHERE ElementName = '{target.name}'"),
            ("Msvm_MemorySettingData", f"SELECT * FROM Msvm_MemorySettingData WHERE InstanceID LIKE 'Microsoft:{guid}%'"),
        ]
        for classname, text in cases:
            everything, built_all, body_all = timed(app, enumerate_request(classname), virt.renderer)
            one, built_one, body_one = timed(app, query_request(text), virt.renderer)
            assert body_one.count(b"<VALUE.OBJECTWITHPATH>") == 1, body_one[:600]
            assert guid.encode() in body_one
            print(
                f"  {classname:<32} enumerate {everything * 1e3:8.1f} ms ({built_all:>6} built, "
                f"{len(body_all) / 1e6:5.1f} MB)  query one {one * 1e3:6.2f} ms ({built_one} built)  "
                f"ratio {one / everything * 100:5.2f} %"
            )
        for close in found["parts"].on_shutdown:
            close()


def main(argv: list[str]) -> None:
    measure(int(argv[0]) if argv else 10000)


if __name__ == "__main__":
    main(sys.argv[1:])
