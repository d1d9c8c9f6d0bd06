"""`job list` and `job show` with times a person reads (local time, "0.5s")
and programs parse (ISO 8601, seconds), and finished jobs kept for the
server's retention, which their TimeBeforeRemoval reports."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from tests.cli.conftest import run_json
from tests.support.live import in_process_server

LOCAL_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with in_process_server(tmp_path_factory.mktemp("jobs"), job_retention_seconds=1800) as live:
        yield live


def test_job_list_times_for_people_and_for_programs(cimprovider):
    cimprovider("vm", "new", "timed")
    assert cimprovider("vm", "start", "timed").exit_code == 0
    [job] = [j for j in run_json(cimprovider, "job", "list") if j["state"] == "Completed"]
    submitted = datetime.fromisoformat(job["submitted"])
    assert submitted.tzinfo is not None
    assert isinstance(job["elapsed"], (int, float)) and job["elapsed"] >= 0
    assert job["kept_for"] == 1800
    table = cimprovider("job", "list", env={"COLUMNS": "100"}).stdout.splitlines()
    assert table[0].split()[:5] == ["TYPE", "STATE", "PERCENT", "SUBMITTED", "ELAPSED"]
    assert "Completed" in table[1] and LOCAL_TIME.search(table[1])
    assert "00000000000000." not in "\n".join(table) and all(len(line) <= 100 for line in table)
    shown = cimprovider("job", "show", job["id"]).stdout
    assert re.search(r"kept_for\s+30m 00s", shown) and LOCAL_TIME.search(shown)


def test_generic_verbs_show_value_names_in_tables_and_numbers_in_json(cimprovider):
    cimprovider("vm", "new", "named")
    assert cimprovider("vm", "start", "named").exit_code == 0
    table = cimprovider("query", "SELECT JobState, InstanceID FROM Msvm_ConcreteJob", "--wide").stdout
    assert "Completed" in table and " 7 " not in f" {table} "
    rows = run_json(cimprovider, "query", "SELECT JobState, InstanceID FROM Msvm_ConcreteJob")
    assert {row["JobState"] for row in rows} == {7}
