"""How tables fit a terminal and how times read, for people and programs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pywbem

from cimprovider.cli.output import cell, plain
from cimprovider.cli.tables import shorten, text_table


def test_long_values_lose_their_middle():
    assert shorten("root/virtualization/v2:Msvm_ComputerSystem.Name=\"ABC\"", 20) == "root/virtu…ame=\"ABC\""
    assert shorten("short", 20) == "short"


def test_a_table_fits_the_width_by_shortening_then_dropping_columns():
    rows = [["a" * 50, "b" * 50, "c" * 50]]
    fitted = text_table(["first", "second", "third"], rows, 80)
    assert all(len(line) <= 80 for line in fitted.splitlines())
    assert fitted.splitlines()[0].split() == ["FIRST", "SECOND", "THIRD"]
    narrow = text_table(["first", "second", "third"], rows, 20)
    assert all(len(line) <= 20 for line in narrow.splitlines())
    assert narrow.splitlines()[0].split() == ["FIRST"]  # the least important columns went
    whole = text_table(["first", "second", "third"], rows, None)
    assert "a" * 50 in whole and "c" * 50 in whole


def test_an_empty_table_keeps_its_header():
    assert text_table(["name", "uptime_seconds"], [], 80) == "NAME  UPTIME"


def test_cim_datetimes_for_programs_and_for_people():
    moment = pywbem.CIMDateTime("20261206064338.884797+000")
    assert plain(moment) == "2026-12-06T06:43:38.884797+00:00"
    assert cell(moment) == datetime(2026, 12, 6, 6, 43, 38, tzinfo=timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    interval = pywbem.CIMDateTime("00000000000000.506256:000")
    assert plain(interval) == 0.506
    assert cell(interval) == "0.5s"
    assert cell(pywbem.CIMDateTime(timedelta(hours=2, minutes=5, seconds=9))) == "2h 05m"
    assert cell(timedelta(days=4, hours=3)) == "4d 03h"
    assert cell(timedelta(minutes=3, seconds=5)) == "3m 05s"
    assert plain(timedelta(seconds=42)) == 42
