"""The query table: text as real clients send it, with the expected result.

Each case is evaluated against every instance of `model.MODEL` (FROM
polymorphism included) and must select exactly `selects`, or must fail
with CIMError `error` whose message contains `message`. Cases with
`selects=None` and no error are parse checks (ASSOCIATORS OF, REFERENCES
OF, event attributes) whose parsed attributes are compared with `fields`.

Import `CASES` from here: the cases_*.py modules add their cases to it when
imported, grouped by subject.
"""

from __future__ import annotations

from . import cases_clients, cases_cql, cases_errors, cases_wql  # noqa: F401  (they add cases)
from .case_table import CASES, Case

CASES_BY_ID = {case.id: case for case in CASES}
assert len(CASES_BY_ID) == len(CASES), "case ids must be unique"

__all__ = ["CASES", "CASES_BY_ID", "Case"]
