"""The query table's vocabulary: the Case record, the helpers that add cases,
and path texts of the model that queries embed.

The table itself is spread over cases_*.py by subject and gathered in
cases.py; see there for how a case is run.

Sources: msvm-v2.md §5 (os-win, MS samples, CloudStack), the Python `wmi`
module (every value quoted), DSP0202 for CQL, and edge cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from .model import MODEL, path_text

WQL, CQL = "WQL", "DMTF:CQL"
INVALID_QUERY, LANGUAGE_NOT_SUPPORTED = 15, 14


@dataclass(frozen=True)
class Case:
    id: str
    language: str
    text: str
    selects: frozenset[str] | None = None
    error: int | None = None
    message: str | None = None
    fields: Mapping[str, object] = field(default_factory=dict)
    source: str = "edge"


CASES: list[Case] = []


def ok(id: str, language: str, text: str, *labels: str, source: str = "edge") -> None:
    CASES.append(Case(id, language, text, frozenset(labels), source=source))


def err(id: str, language: str, text: str, message: str, error: int = INVALID_QUERY) -> None:
    CASES.append(Case(id, language, text, error=error, message=message))


def parsed(id: str, language: str, text: str, source: str = "edge", **fields: object) -> None:
    CASES.append(Case(id, language, text, fields=fields, source=source))


def quoted(text: str) -> str:
    """A WQL literal escaped the MS-samples way (`\\` -> `\\\\`, `'` -> `\\'`)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def raw(text: str) -> str:
    """A WQL literal built the os-win way: path text pasted between quotes."""
    return "'" + text + "'"


CS = ("host", "vm1", "vm2", "vm3")
VM1, IDE1, DRIVE1 = (path_text(MODEL[label]) for label in ("vm1", "ide1", "drive1"))
GUID1_RASD = ("mem1", "cpu1", "ide1", "scsi1", "drive1", "dvd1", "passthru1", "vhd1",
              "nic1", "port1")
EVENTS_CS = ("ev_mod_vm1", "ev_mod_vm2_same", "ev_delete_vm3", "ev_wmi_mod_vm2")
# os-win's subscription to VM state changes (vmutils).
OSWIN_EVENT = ("SELECT EnabledState, TargetInstance FROM __InstanceModificationEvent WITHIN 60 "
               "WHERE TargetInstance ISA 'Msvm_ComputerSystem' AND "
               "TargetInstance.EnabledState != PreviousInstance.EnabledState")
