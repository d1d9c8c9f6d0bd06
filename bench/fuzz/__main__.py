"""Fuzz the CIM-XML request parser and both query parsers with generated
input: every outcome must be a parsed request or query, or one of the
documented errors (ProtocolError / CallError for requests, CIMError 14 or 15
for queries); memory must stay bounded.

    python bench/fuzz [REQUESTS] [QUERIES]      (defaults 100000 each)

Prints the counts, the outcome mix, RSS along the way, and every
undocumented exception with one input that raised it (exit 1 if any).
"""

from __future__ import annotations

import collections
import gc
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import psutil
from hypothesis import HealthCheck, Phase, given, seed, settings
from pywbem import CIM_ERR_INVALID_QUERY, CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED, CIMError

from cimprovider.query import format_query, parse_query
from cimprovider.wire import CallError, ProtocolError, parse_request
from mutate import queries, requests
from seeds import request_seeds

BATCH = 2_000
QUERY_ERRORS = (CIM_ERR_INVALID_QUERY, CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED)


class Campaign:
    """Counts outcomes of one target and keeps one input per unexpected fault."""

    def __init__(self, name: str, total: int) -> None:
        self.name, self.total = name, total
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.faults: dict[str, Any] = {}
        self.rss: list[tuple[int, float]] = []
        self.process = psutil.Process()

    def record(self, outcome: str) -> None:
        self.outcomes[outcome] += 1
        count = sum(self.outcomes.values())
        if count % (self.total // 10 or 1) == 0:
            gc.collect()
            self.rss.append((count, self.process.memory_info().rss / 2**20))

    def fault(self, sample: Any) -> None:
        exc = sys.exc_info()[1]
        key = f"{type(exc).__name__}: {str(exc)[:120]}"
        self.faults.setdefault(key, (sample, traceback.format_exc(limit=6)))
        self.record("UNDOCUMENTED")

    def run(self, strategy: Any, one: Callable[[Any], None]) -> None:
        """Generate in batches: Hypothesis remembers every choice of a run, so
        one run of 100,000 examples would measure Hypothesis's memory, not the
        parser's. Each batch is a fresh run with its own seed."""

        def batch(size: int, number: int) -> None:
            @seed(number)
            @settings(max_examples=size, database=None, deadline=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
            @given(strategy)
            def campaign(sample: Any) -> None:
                try:
                    one(sample)
                except Exception:  # noqa: BLE001 - the point is to find any
                    self.fault(sample)

            campaign()
            gc.collect()

        started = time.perf_counter()
        self.rss.append((0, self.process.memory_info().rss / 2**20))
        number = 0
        while sum(self.outcomes.values()) < self.total:
            number += 1
            batch(min(BATCH, self.total - sum(self.outcomes.values())), number)
        seconds = time.perf_counter() - started
        count = sum(self.outcomes.values())
        print(f"\n{self.name}: {count} inputs in {seconds:.0f} s ({count / seconds:.0f}/s), "
              f"{number} batches")
        for outcome, n in self.outcomes.most_common():
            print(f"  {n:7d}  {outcome}")
        print("  RSS MiB after N inputs: " + ", ".join(f"{n}:{mib:.0f}" for n, mib in self.rss))
        for key, (sample, trace) in self.faults.items():
            print(f"  UNDOCUMENTED {key}\n    input: {sample!r:.300}\n{trace}")


def request_target(campaign: Campaign) -> Callable[[bytes], None]:
    def one(body: bytes) -> None:
        try:
            request = parse_request(body)
        except ProtocolError as exc:
            campaign.record(f"ProtocolError {exc.status} {exc.cim_error}")
        except CallError as exc:
            campaign.record(f"CallError {exc.error.status_code_name}")
        else:
            campaign.record(f"parsed {type(request).__name__}")
    return one


def query_target(campaign: Campaign) -> Callable[[tuple[str, str]], None]:
    def one(sample: tuple[str, str]) -> None:
        language, text = sample
        try:
            query = parse_query(language, text)
        except CIMError as exc:
            if exc.status_code not in QUERY_ERRORS:
                raise
            campaign.record(f"CIMError {exc.status_code_name}")
            return
        printed = format_query(query)
        if parse_query(language, printed) != query:
            raise AssertionError(f"print/parse round trip changed the query: {printed!r}")
        campaign.record(f"parsed {type(query).__name__}")
    return one


def main() -> int:
    counts = [int(arg) for arg in sys.argv[1:3]] + [100_000, 100_000][len(sys.argv[1:3]):]
    wire = Campaign("CIM-XML requests", counts[0])
    wire.run(requests(request_seeds()), request_target(wire))
    query = Campaign("WQL and DMTF:CQL queries", counts[1])
    query.run(queries(), query_target(query))
    return 1 if wire.faults or query.faults else 0


if __name__ == "__main__":
    sys.exit(main())
