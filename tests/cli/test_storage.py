"""vhd new/info/resize/convert/merge/compact/validate against the image
service, vm clone, snapshots, export and import."""

from __future__ import annotations

import os

import pytest

from tests.cli.conftest import run_json


@pytest.fixture
def storage(server):
    root = server.data_dir / "storage"
    root.mkdir(exist_ok=True)
    return root


def test_vhd_life(cimprovider, storage):
    base, child, copy = storage / "base.vhd", storage / "child.vhd", storage / "copy.vhdx"
    assert cimprovider("vhd", "new", str(base), "--size", "64M").exit_code == 0
    info = run_json(cimprovider, "vhd", "info", str(base))
    assert (info["type"], info["format"], info["size_bytes"], info["parent"]) == ("dynamic", "vhd", 64 * 1024**2, None)
    assert cimprovider("vhd", "new", str(child), "--parent", str(base)).exit_code == 0
    info = run_json(cimprovider, "vhd", "info", str(child))
    assert (info["type"], info["parent"]) == ("differencing", str(base))
    assert cimprovider("vhd", "merge", str(child), str(base)).exit_code == 0
    assert cimprovider("vhd", "resize", str(base), "128M").exit_code == 0
    assert run_json(cimprovider, "vhd", "info", str(base))["size_bytes"] == 128 * 1024**2
    assert cimprovider("vhd", "compact", str(base)).exit_code == 0
    assert cimprovider("vhd", "convert", str(base), str(copy), "--type", "fixed").exit_code == 0
    info = run_json(cimprovider, "vhd", "info", str(copy))
    assert (info["type"], info["format"]) == ("fixed", "vhdx")
    assert cimprovider("vhd", "validate", str(copy)).exit_code == 0


def test_vhd_failures_name_the_job_error(cimprovider, storage):
    missing = cimprovider("vhd", "info", str(storage / "missing.vhdx"))
    assert missing.exit_code == 1 and "job error 32779 (file not found)" in missing.stderr
    outside = cimprovider("vhd", "new", "/etc/evil.vhdx", "--size", "1M")
    assert outside.exit_code == 1 and "32773" in outside.stderr and "storage roots" in outside.stderr
    assert cimprovider("vhd", "new", str(storage / "x.img"), "--size", "1M").exit_code == 2  # format unknown
    assert cimprovider("vhd", "new", str(storage / "x.vhdx")).exit_code == 2  # no size



def test_vhd_validate_reports_random_bytes_named_vhd_as_invalid(cimprovider, storage):
    noise = storage / "noise.vhd"
    noise.write_bytes(os.urandom(1024**2))
    result = cimprovider("vhd", "validate", str(noise))
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"cimprovider: vhd validate {noise}: job error 32768 (failed): ")
    assert "not a virtual hard disk" in result.stderr and result.stderr.count("\n") == 1

def test_vhd_no_wait_then_job_wait(cimprovider, storage):
    result = cimprovider("vhd", "new", str(storage / "later.vhdx"), "--size", "32M", "--no-wait")
    assert result.exit_code == 0 and "Msvm_StorageJob" in result.stdout
    assert cimprovider("job", "wait", result.stdout.strip()).exit_code == 0
    assert run_json(cimprovider, "vhd", "info", str(storage / "later.vhdx"))["format"] == "vhdx"


def test_clone_copies_settings_and_disks(cimprovider, storage):
    disk = storage / "original.vhdx"
    assert cimprovider("vhd", "new", str(disk), "--size", "32M").exit_code == 0
    cimprovider("vm", "new", "original", "--memory", "1536", "--processors", "3")
    assert cimprovider("vm", "disk", "add", "original", str(disk)).exit_code == 0
    cloned = cimprovider("vm", "clone", "original", "copy", "-o", "json")
    assert cloned.exit_code == 0, cloned.stderr
    shown = run_json(cimprovider, "vm", "show", "copy")
    assert (shown["memory_mb"], shown["processors"]) == (1536, 3)
    # The clone runs on its own copy of the disk, never on the source's.
    (copied,) = [s["path"] for s in shown["storage"]]
    assert copied != str(disk) and run_json(cimprovider, "vhd", "info", copied)["size_bytes"] == 32 * 1024**2
    assert shown["id"] != run_json(cimprovider, "vm", "show", "original")["id"]


def test_snapshots(cimprovider, server, storage):
    cimprovider("vm", "new", "snapped")
    assert cimprovider("snapshot", "new", "snapped", "--name", "first").exit_code == 0
    assert cimprovider("snapshot", "new", "snapped", "--name", "second").exit_code == 0
    rows = run_json(cimprovider, "snapshot", "list", "snapped")
    assert [(r["name"], r["parent"]) for r in rows] == [("first", None), ("second", "first")]
    tree = cimprovider("snapshot", "tree", "snapped").stdout
    assert "first" in tree and "second" in tree and "Now" in tree
    assert cimprovider("snapshot", "apply", "snapped", "first").exit_code == 0
    assert cimprovider("snapshot", "remove", "snapped", "second").exit_code == 0
    assert [r["name"] for r in run_json(cimprovider, "snapshot", "list", "snapped")] == ["first"]
    assert cimprovider("snapshot", "remove", "snapped", "nope").exit_code == 5


def test_export_and_import(cimprovider, server, storage):
    disk = storage / "exported.vhd"
    assert cimprovider("vhd", "new", str(disk), "--size", "16M").exit_code == 0
    cimprovider("vm", "new", "exported")
    assert cimprovider("vm", "disk", "add", "exported", str(disk)).exit_code == 0
    result = cimprovider("vm", "export", "exported", str(storage / "export"))
    assert result.exit_code == 0, result.stderr
    (definition,) = (storage / "export").rglob("Virtual Machines/*.json")
    imported = cimprovider("vm", "import", str(definition), "-o", "json")
    assert imported.exit_code == 0, imported.stderr
    names = [row["name"] for row in run_json(cimprovider, "vm", "list")]
    assert names.count("exported") == 2  # the original and its imported copy
