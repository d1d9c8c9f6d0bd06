"""How long the query layer takes with hostile input: LIKE patterns that
make a backtracking matcher exponential (matched here against 5,000
characters), and a query of more than a megabyte, which is refused by its
length before it is parsed. Each the best of a few runs; all should be
milliseconds.

    python bench/hostile_queries.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pywbem import CIMError

from cimprovider.query import like, parse_query


def best_of(runs: int, work: Callable[[], object]) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def refuse(language: str, text: str) -> None:
    try:
        parse_query(language, text)
    except CIMError:
        return
    raise AssertionError("the query was accepted")


def main() -> None:
    text = "a" * 5000
    cases: dict[str, Callable[[], object]] = {
        "WQL LIKE '%a%a%a%a%a%a%a%a%b'": lambda: like(text, "%a%a%a%a%a%a%a%a%b"),
        "CQL LIKE 'a*a*a*a*a*a*a*b'": lambda: like(text, "a*a*a*a*a*a*a*b", "DMTF:CQL"),
    }
    megabyte = "SELECT * FROM X WHERE " + " OR ".join(["a = 'xxxxxxxx'"] * 60_000)
    for language in ("WQL", "DMTF:CQL"):
        cases[f"{language} query of {len(megabyte):,} chars refused"] = lambda language=language: refuse(language, megabyte)
    for label, work in cases.items():
        print(f"{label:<42} {best_of(5, work) * 1000:8.2f} ms")


if __name__ == "__main__":
    main()
