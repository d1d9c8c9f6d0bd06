"""`snapshot tree` after an apply, and `snapshot apply` on a running VM,
as a Hyper-V admin reads them."""

from __future__ import annotations

from tests.cli.conftest import run_json


def test_tree_after_apply_draws_now_as_the_last_branch(cimprovider):
    cimprovider("vm", "new", "branchy")
    for name in ("base", "left"):
        assert cimprovider("snapshot", "new", "branchy", "--name", name).exit_code == 0
    assert cimprovider("snapshot", "apply", "branchy", "base").exit_code == 0
    assert cimprovider("snapshot", "new", "branchy", "--name", "right").exit_code == 0
    assert cimprovider("snapshot", "apply", "branchy", "base").exit_code == 0
    tree = cimprovider("snapshot", "tree", "branchy").stdout
    assert tree.splitlines() == [
        "branchy",
        "└── base",
        "    ├── left",
        "    ├── right",
        "    └── Now",
    ]


def test_apply_on_a_running_vm_says_what_to_do(cimprovider):
    cimprovider("vm", "new", "busy")
    assert cimprovider("snapshot", "new", "busy", "--name", "clean").exit_code == 0
    assert cimprovider("vm", "start", "busy").exit_code == 0
    refused = cimprovider("snapshot", "apply", "busy", "clean")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == ("cimprovider: snapshot apply 'clean': the VM is Running; "
                                      "stop or save the VM first, or give --force")
    forced = cimprovider("snapshot", "apply", "busy", "clean", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert [r["state"] for r in run_json(cimprovider, "vm", "list", "busy")] == ["Off"]


def test_processors_change_only_while_the_vm_is_off(cimprovider):
    cimprovider("vm", "new", "cpus", "--processors", "2")
    assert cimprovider("vm", "start", "cpus").exit_code == 0
    refused = cimprovider("vm", "set", "cpus", "--processors", "4")
    assert refused.exit_code == 1
    assert "32775" in refused.stderr and "processor" in refused.stderr and "while the VM is running" in refused.stderr
    assert run_json(cimprovider, "vm", "show", "cpus")["processors"] == 2
    assert cimprovider("vm", "stop", "cpus").exit_code == 0
    assert cimprovider("vm", "set", "cpus", "--processors", "4").exit_code == 0
    assert run_json(cimprovider, "vm", "show", "cpus")["processors"] == 4


def test_a_name_the_server_would_refuse_takes_no_snapshot(cimprovider):
    """The name is given after the snapshot is taken: it is checked first."""
    cimprovider("vm", "new", "misnamed")
    for name, length in (("", 0), ("x" * 101, 101)):
        refused = cimprovider("snapshot", "new", "misnamed", "--name", name)
        assert refused.exit_code == 2
        assert refused.stderr.strip() == f"cimprovider: snapshot new 'misnamed': --name must have 1 to 100 characters, not {length}"
    assert run_json(cimprovider, "snapshot", "list", "misnamed") == []


def test_quiet_prints_the_new_snapshots_instance_id(cimprovider, server):
    cimprovider("vm", "new", "quietly")
    made = cimprovider("snapshot", "new", "quietly", "--name", "q1", "-q")
    assert made.exit_code == 0, made.stderr
    conn = server.connection("root/virtualization/v2")
    ids = [s["InstanceID"] for s in conn.EnumerateInstances("Msvm_VirtualSystemSettingData") if s["ElementName"] == "q1"]
    assert len(ids) == 1 and made.stdout.split() == ids


def test_disk_only_is_not_offered_since_the_server_refuses_it(cimprovider):
    """CreateSnapshot's SnapshotType 3 is not supported (32770) on any
    backend: the option that asked for it could only ever fail."""
    cimprovider("vm", "new", "disky")
    assert "--disk-only" not in cimprovider("snapshot", "new", "--help").stdout
    refused = cimprovider("snapshot", "new", "disky", "--disk-only")
    assert refused.exit_code == 2 and "No such option: --disk-only" in refused.stderr
    assert run_json(cimprovider, "snapshot", "list", "disky") == []
