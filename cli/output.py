"""Printing results: a readable table by default, `-o json|yaml|csv` with
the same field names every time (scripts depend on them), `-q` for the ID
column alone.

Records are plain dicts whose keys are the field names; values are turned
into JSON-able ones here, so commands may hand over CIM values as they come."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import click
import pywbem
import yaml

from cimprovider.cli.connection import Session

Record = dict[str, Any]


def plain(value: Any) -> Any:
    """A CIM value as JSON/YAML can carry it."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, pywbem.CIMInt) or isinstance(value, int):
        return int(value)
    if isinstance(value, (pywbem.CIMFloat, float)):
        return float(value)
    if isinstance(value, pywbem.CIMDateTime):
        return str(value)
    if isinstance(value, (datetime, timedelta)):
        return str(value)
    if isinstance(value, pywbem.CIMInstanceName):
        return str(value)
    if isinstance(value, pywbem.CIMInstance):
        return instance_record(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value)


def instance_record(instance: pywbem.CIMInstance, with_path: bool = True) -> Record:
    record: Record = {}
    if with_path and instance.path is not None:
        record["path"] = str(instance.path)
    for name, prop in instance.properties.items():
        record[name] = plain(prop.value)
    return record


def cell(value: Any) -> str:
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _text_table(columns: Sequence[str], rows: Sequence[Record]) -> str:
    header = [c.upper().replace("_", " ") for c in columns]
    body = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in body]
    return "\n".join(lines)


def emit(session: Session, rows: Iterable[Record], columns: Sequence[str], key: str,
         table_columns: Sequence[str] | None = None) -> None:
    """A list of records. `key` is what -q prints; `table_columns`
    (default `columns`) are those the human table shows."""
    rows = [{c: plain(r.get(c)) for c in columns} for r in rows]  # the same fields in every row, every time
    if session.quiet:
        for row in rows:
            click.echo(cell(row.get(key)))
        return
    if session.output == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
    elif session.output == "yaml":
        click.echo(yaml.safe_dump(rows, sort_keys=False, allow_unicode=True), nl=False)
    elif session.output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: cell(row.get(c)) for c in columns})
    elif rows:
        click.echo(_text_table(table_columns or columns, rows))


def emit_one(session: Session, record: Record, key: str) -> None:
    """One record: `field: value` lines in a table, an object otherwise."""
    record = {k: plain(v) for k, v in record.items()}
    if session.quiet:
        click.echo(cell(record.get(key)))
    elif session.output == "json":
        click.echo(json.dumps(record, indent=2, default=str))
    elif session.output == "yaml":
        click.echo(yaml.safe_dump(record, sort_keys=False, allow_unicode=True), nl=False)
    elif session.output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(record), lineterminator="\n")
        writer.writeheader()
        writer.writerow({k: cell(v) for k, v in record.items()})
    else:
        width = max((len(k) for k in record), default=0)
        for name, value in record.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                click.echo(f"{name}:")
                columns = list(dict.fromkeys(k for item in value for k in item))
                click.echo("\n".join("  " + line for line in _text_table(columns, value).splitlines()))
            else:
                click.echo(f"{name.ljust(width)}  {cell(value)}")


def note(message: str) -> None:
    """Progress and confirmations go to stderr so that stdout stays data."""
    click.echo(message, err=True)
