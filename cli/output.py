"""Printing results: a readable table by default, `-o json|yaml|csv` with
the same field names every time (scripts depend on them), `-q` for the ID
column alone.

Records are plain dicts whose keys are the field names; values are turned
into JSON-able ones here, so commands may hand over CIM values as they come.
Points in time and durations print for people in tables (local time, "2h
05m") and for programs elsewhere (ISO 8601, seconds); tables are fitted to
the terminal unless --wide asks for every column whole."""

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
from cimprovider.cli.tables import text_table
from cimprovider.cli.times import human_duration, iso_time, local_time, seconds
from cimprovider.cli.value_names import Labelled, Named

Record = dict[str, Any]


def plain(value: Any) -> Any:
    """A CIM value as JSON/YAML can carry it."""
    if isinstance(value, Labelled):
        return str(value)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, pywbem.CIMInt) or isinstance(value, int):
        return int(value)
    if isinstance(value, (pywbem.CIMFloat, float)):
        return float(value)
    if isinstance(value, pywbem.CIMDateTime):
        return seconds(value.timedelta) if value.is_interval else iso_time(value.datetime)
    if isinstance(value, timedelta):
        return seconds(value)
    if isinstance(value, datetime):
        return iso_time(value)
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
    """A value as a person reads it in a table."""
    if isinstance(value, (Named, Labelled)):
        return value.label
    if isinstance(value, pywbem.CIMDateTime):
        return human_duration(value.timedelta) if value.is_interval else local_time(value.datetime)
    if isinstance(value, timedelta):
        return human_duration(value)
    if isinstance(value, datetime):
        return local_time(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(v) for v in value)
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


def emit(session: Session, rows: Iterable[Record], columns: Sequence[str], key: str,
         table_columns: Sequence[str] | None = None, answered: bool = True) -> None:
    """A list of records. `key` is what -q prints; `table_columns`
    (default `columns`) are those the human table shows. A table has its
    header even without rows, so "none" reads differently from a failure
    (`answered` False: no server answered, nothing to head)."""
    rows = [{c: r.get(c) for c in columns} for r in rows]  # the same fields in every row, every time
    if session.quiet:
        for row in rows:
            click.echo(cell(row.get(key)))
        return
    if session.output == "table":
        if not rows and not answered:
            return
        shown = table_columns or columns
        click.echo(text_table(shown, [[cell(row.get(c)) for c in shown] for row in rows], session.width))
        return
    rows = [{c: plain(v) for c, v in row.items()} for row in rows]
    if session.output == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
    elif session.output == "yaml":
        click.echo(yaml.safe_dump(rows, sort_keys=False, allow_unicode=True), nl=False)
    elif session.output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: _csv_cell(row.get(c)) for c in columns})


def _csv_cell(value: Any) -> str:
    """CSV holds the programs' form (ISO 8601, seconds), flattened."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_csv_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def emit_one(session: Session, record: Record, key: str) -> None:
    """One record: `field: value` lines in a table, an object otherwise."""
    if session.quiet:
        click.echo(cell(record.get(key)))
        return
    if session.output == "table":
        _echo_fields(session, record)
        return
    record = {k: plain(v) for k, v in record.items()}
    if session.output == "json":
        click.echo(json.dumps(record, indent=2, default=str))
    elif session.output == "yaml":
        click.echo(yaml.safe_dump(record, sort_keys=False, allow_unicode=True), nl=False)
    elif session.output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(record), lineterminator="\n")
        writer.writeheader()
        writer.writerow({k: _csv_cell(v) for k, v in record.items()})


def _echo_fields(session: Session, record: Record) -> None:
    """`field  value` lines; durations read as durations, so a field's
    `_seconds` is left off its label."""
    record = {name.removesuffix("_seconds"): value for name, value in record.items()}
    width = max((len(k) for k in record), default=0)
    for name, value in record.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            click.echo(f"{name}:")
            columns = list(dict.fromkeys(k for item in value for k in item))
            table = text_table(columns, [[cell(item.get(c)) for c in columns] for item in value],
                               None if session.width is None else session.width - 2)
            click.echo("\n".join("  " + line for line in table.splitlines()))
        else:
            click.echo(f"{name.ljust(width)}  {cell(value)}")


def note(message: str) -> None:
    """Progress and confirmations go to stderr so that stdout stays data."""
    click.echo(message, err=True)
