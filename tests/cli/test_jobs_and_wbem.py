"""job list/show/wait/cancel, --no-wait, and the generic verbs enum, get,
invoke, query and assoc through CliRunner."""

from __future__ import annotations

import json

from tests.cli.conftest import NS, run_json

CS_PATH = 'Msvm_ComputerSystem.CreationClassName="Msvm_ComputerSystem",Name="{}"'


def test_no_wait_prints_the_job_path_and_job_commands_follow_it(cimprovider, server):
    made = run_json(cimprovider, "vm", "new", "jobs")
    result = cimprovider("vm", "start", "jobs", "--no-wait")
    assert result.exit_code == 0
    path = result.stdout.strip()
    assert path.startswith("root/virtualization/v2:Msvm_ConcreteJob.InstanceID=")
    waited = cimprovider("job", "wait", path)
    assert waited.exit_code == 0 and waited.stdout.strip().endswith("completed")
    job_id = path.split('"')[1]
    shown = run_json(cimprovider, "job", "show", job_id)
    assert (shown["id"], shown["state"], shown["percent"], shown["class"]) == (job_id, "Completed", 100, "Msvm_ConcreteJob")
    listed = run_json(cimprovider, "job", "list")
    assert job_id in [j["id"] for j in listed] and set(listed[0]) >= {"host", "id", "type", "state", "percent", "error"}
    assert job_id in cimprovider("job", "list", "-q").stdout.split()
    assert run_json(cimprovider, "vm", "show", made["id"])["state"] == "Running"
    refused = cimprovider("job", "cancel", job_id)
    assert refused.exit_code == 1 and "the job is Completed" in refused.stderr


def test_a_failed_job_is_shown_with_its_error_and_job_wait_exits_1(cimprovider):
    cimprovider("vm", "new", "failing")
    cimprovider("vm", "set", "failing", "--memory", "3")
    failed = [j for j in run_json(cimprovider, "job", "list") if j["state"] == "Exception"]
    assert failed and "VirtualQuantity" in failed[-1]["error"]
    result = cimprovider("job", "wait", failed[-1]["id"])
    assert result.exit_code == 1 and "32773" in result.stderr and "VirtualQuantity" in result.stderr
    assert cimprovider("job", "show", "00000000-0000-0000-0000-000000000000").exit_code == 5


def test_enum_get_and_property_lists(cimprovider, server):
    made = run_json(cimprovider, "vm", "new", "generic")
    table = cimprovider("enum", "Msvm_ComputerSystem")
    assert table.exit_code == 0 and "generic" in table.stdout and "ELEMENTNAME" in table.stdout.splitlines()[0]
    rows = run_json(cimprovider, "enum", "Msvm_ComputerSystem")
    assert any(r["ElementName"] == "generic" and r["EnabledState"] == 3 for r in rows)
    names = cimprovider("enum", "Msvm_ComputerSystem", "--names-only", "-q").stdout.split()
    assert any(made["id"] in n for n in names)
    got = run_json(cimprovider, "get", CS_PATH.format(made["id"]), "--property", "ElementName")
    assert got["ElementName"] == "generic" and "EnabledState" not in got
    wmi = "\\\\HOST\\root\\virtualization\\v2:" + CS_PATH.format(made["id"])
    assert run_json(cimprovider, "get", wmi)["Name"] == made["id"]
    missing = cimprovider("get", CS_PATH.format("nope"))
    assert missing.exit_code == 5 and "CIM_ERR_NOT_FOUND" in missing.stderr
    bad_class = cimprovider("enum", "Msvm_NoSuchClass")
    assert bad_class.exit_code == 5 and "CIM_ERR_INVALID_CLASS" in bad_class.stderr
    assert cimprovider("get", "not a path").exit_code == 2


def test_invoke_types_arguments_from_the_class_and_waits_for_the_job(cimprovider, server):
    made = run_json(cimprovider, "vm", "new", "invoked")
    result = run_json(cimprovider, "invoke", CS_PATH.format(made["id"]), "RequestStateChange", "RequestedState=2")
    assert result["ReturnValue"] == 4096 and result["JobState"] == 7
    assert run_json(cimprovider, "vm", "show", "invoked")["state"] == "Running"
    again = cimprovider("invoke", CS_PATH.format(made["id"]), "RequestStateChange", "RequestedState=2")
    assert again.exit_code == 1 and "32775" in again.stdout + again.stderr
    summary = run_json(cimprovider, "invoke", "Msvm_VirtualSystemManagementService.CreationClassName=\"Msvm_VirtualSystemManagementService\","
                       "Name=\"vmms\",SystemCreationClassName=\"Msvm_ComputerSystem\",SystemName=\"" + vmms_host(server) + "\"",
                       "GetSummaryInformation", "RequestedInformation=[1,100]",
                       f'SettingData=Msvm_VirtualSystemSettingData.InstanceID="Microsoft:{made["id"]}"')
    assert summary["ReturnValue"] == 0 and summary["SummaryInformation"][0]["ElementName"] == "invoked"
    assert cimprovider("invoke", CS_PATH.format(made["id"]), "Frobnicate").exit_code == 2
    assert cimprovider("invoke", CS_PATH.format(made["id"]), "RequestStateChange", "Nonsense=1").exit_code == 2
    for argument, said in (("RequestedState=abc", "parameter RequestedState is a uint16: 'abc' is not one"),
                           ("RequestedState=99999999", "parameter RequestedState is a uint16: '99999999' is not one"),
                           ("TimeoutPeriod=xyz", "parameter TimeoutPeriod is a datetime: 'xyz' is not one")):
        wrong = cimprovider("invoke", CS_PATH.format(made["id"]), "RequestStateChange", argument)
        assert wrong.exit_code == 2 and wrong.stderr.startswith(f"cimprovider: {said} ("), wrong.stderr
    assert cimprovider("vm", "list", "-t", "-1").exit_code == 2
    cimprovider("vm", "stop", "invoked")


def vmms_host(server) -> str:
    return server.connection(NS).EnumerateInstanceNames("Msvm_VirtualSystemManagementService")[0]["SystemName"]


def test_query_outside_the_model(cimprovider):
    rows = run_json(cimprovider, "query", "SELECT * FROM CIM_Namespace WHERE Name = 'root/virtualization/v2'", "-n", "root/interop")
    assert [r["Name"] for r in rows] == ["root/virtualization/v2"]
    bad = cimprovider("query", "SELECT FROM WHERE")
    assert bad.exit_code == 1 and bad.stderr.startswith("cimprovider: query: CIM_ERR_")


def test_query(cimprovider):
    run_json(cimprovider, "vm", "new", "queried")
    result = cimprovider("query", "SELECT * FROM Msvm_VirtualSystemSettingData WHERE ElementName = 'queried'", "-o", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["ElementName"] for r in rows] == ["queried"]


def test_assoc_and_references(cimprovider):
    made = run_json(cimprovider, "vm", "new", "associated")
    path = CS_PATH.format(made["id"])
    settings = run_json(cimprovider, "assoc", path, "--result-class", "Msvm_VirtualSystemSettingData")
    assert [s["ElementName"] for s in settings] == ["associated"]
    names = cimprovider("assoc", path, "--assoc-class", "Msvm_SettingsDefineState", "--names-only", "-q").stdout.split()
    assert len(names) == 1 and "Msvm_VirtualSystemSettingData" in names[0]
    refs = run_json(cimprovider, "assoc", path, "--references", "--names-only")
    assert refs and all("path" in r for r in refs)


def test_job_cancel_stops_a_running_conversion(cimprovider, server):
    from tests.integration.storage.test_kill_during_job import big_source, running_with_progress

    folder = server.data_dir / "storage" / "cancelled"
    folder.mkdir(parents=True)
    big_source(folder / "source.vhd")
    started = cimprovider("vhd", "convert", str(folder / "source.vhd"), str(folder / "copy.vhdx"), "--no-wait")
    assert started.exit_code == 0, started.stderr
    path = started.stdout.strip()
    conn = server.connection("root/virtualization/v2")
    job = conn.EnumerateInstanceNames("Msvm_StorageJob")
    (job_path,) = [p for p in job if p.keybindings["InstanceID"] in path]
    running_with_progress(conn, job_path)
    cancelled = cimprovider("job", "cancel", job_path.keybindings["InstanceID"])
    assert cancelled.exit_code == 0, cancelled.stderr
    waited = cimprovider("job", "wait", job_path.keybindings["InstanceID"])
    assert waited.exit_code == 1 and "job terminated" in waited.stderr
    assert not (folder / "copy.vhdx").exists()
