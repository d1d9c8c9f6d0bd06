"""By hand: `python bench/writer.py [instances] [properties]`.

Times write_intrinsic_response for an EnumerateInstances answer against
pywbem 1.9.1 parsing the same bytes the way WBEMConnection does
(xml_to_tupletree_sax, then TupleParser).
"""

from __future__ import annotations

import gc
import sys
import time

from pywbem import CIMInstance, CIMInstanceName, CIMProperty, Uint16, Uint64
from pywbem._tupleparse import TupleParser
from pywbem._tupletree import xml_to_tupletree_sax

from cimprovider.wire import IntrinsicCall, IntrinsicResult, write_intrinsic_response

NAMESPACE = "root/virtualization/v2"


def make_instances(count: int, width: int) -> list[CIMInstance]:
    """Msvm_ComputerSystem-like instances: a mix of strings (some needing
    escaping), uint16 and uint64 properties."""
    instances = []
    for i in range(count):
        properties = []
        for j in range(width):
            kind = j % 4
            if kind == 0:
                value: object = f"value {i} & {j}"
            elif kind == 1:
                value = Uint16(j)
            elif kind == 2:
                value = f"Some longer string value number {i}"
            else:
                value = Uint64(i * 1000 + j)
            properties.append(CIMProperty(f"Prop{j}", value))
        instance = CIMInstance("Msvm_ComputerSystem", properties=properties)
        instance.path = CIMInstanceName(
            "Msvm_ComputerSystem",
            {"CreationClassName": "Msvm_ComputerSystem", "Name": f"{i:08X}-4A1B-4C2D-8E3F-000000000000"},
            namespace=NAMESPACE,
        )
        instances.append(instance)
    return instances


def main(count: int = 10_000, width: int = 20) -> None:
    instances = make_instances(count, width)
    call = IntrinsicCall("1001", "EnumerateInstances", NAMESPACE, {"ClassName": "Msvm_ComputerSystem"})
    gc.collect()
    timings = []
    body = b""
    for _ in range(5):
        started = time.perf_counter()
        body = write_intrinsic_response(call, IntrinsicResult(value=instances), "host.example")
        timings.append(time.perf_counter() - started)
    started = time.perf_counter()
    TupleParser().parse_cim(xml_to_tupletree_sax(body, "CIM-XML response"))
    parse = time.perf_counter() - started
    print(f"{count} instances x {width} properties, {len(body) / 1e6:.1f} MB")
    print(f"write: first {timings[0] * 1e3:.0f} ms, best {min(timings) * 1e3:.0f} ms")
    print(f"pywbem parse: {parse * 1e3:.0f} ms")
    print(f"write/parse: first {timings[0] / parse:.1%}, best {min(timings) / parse:.1%}")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
