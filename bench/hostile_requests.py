"""How long the request parser takes to refuse hostile bodies (an entity
bomb, ten thousand nested elements) and to accept a large legitimate one
(a PropertyList of N names), each the best of a few runs. A refusal should
cost milliseconds whatever the body's size; the large request shows what
the parser's bounded, chunked reading costs on honest traffic.

    python bench/hostile_requests.py [N]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from cimprovider.wire import ProtocolError, parse_request

HEAD = '<?xml version="1.0" encoding="utf-8" ?>\n'
NS = '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"></NAMESPACE><NAMESPACE NAME="cimv2"></NAMESPACE></LOCALNAMESPACEPATH>'


def get_class(params: str) -> bytes:
    call = f'<IMETHODCALL NAME="GetClass">{NS}<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="C"/></IPARAMVALUE>{params}</IMETHODCALL>'
    return f'{HEAD}<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="7" PROTOCOLVERSION="1.0"><SIMPLEREQ>{call}</SIMPLEREQ></MESSAGE></CIM>'.encode()


def entity_bomb() -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10)
    )
    return f'{HEAD}<!DOCTYPE CIM [{entities}]><CIM CIMVERSION="2.0">&lol9;</CIM>'.encode()


def deep_nesting(levels: int) -> bytes:
    return get_class(f'<IPARAMVALUE NAME="PropertyList">{"<VALUE.ARRAY>" * levels}{"</VALUE.ARRAY>" * levels}</IPARAMVALUE>')


def property_list(n: int) -> bytes:
    names = "".join(f"<VALUE>Property{i}</VALUE>" for i in range(n))
    return get_class(f'<IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY>{names}</VALUE.ARRAY></IPARAMVALUE>')


def best_of(runs: int, work: Callable[[], object]) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def refuse(body: bytes) -> str:
    try:
        parse_request(body)
    except ProtocolError as exc:
        return exc.cim_error
    raise AssertionError("the hostile body was accepted")


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 100_000
    bodies = {
        "entity bomb": entity_bomb(),
        "10,000 nested elements": deep_nesting(10_000),
    }
    for label, body in bodies.items():
        seconds = best_of(5, lambda: refuse(body))
        print(f"{label:<28} {len(body):>10,} bytes  refused ({refuse(body)}) in {seconds * 1000:8.2f} ms")
    body = property_list(n)
    seconds = best_of(5, lambda: parse_request(body))
    print(f"{f'PropertyList of {n:,}':<28} {len(body):>10,} bytes  parsed in {seconds * 1000:8.2f} ms"
          f"  ({len(body) / seconds / 1e6:.1f} MB/s)")


if __name__ == "__main__":
    main(sys.argv[1:])
