"""`vm dvd insert|eject` as Set-VMDvdDrive works: one drive whose disc is
changed, emptied, and changed again — never a second drive for a second
image."""

from __future__ import annotations

from tests.cli.conftest import NS, run_json


def dvd_drives(server, vm_id):
    conn = server.connection(NS)
    return [d for d in conn.EnumerateInstances("Msvm_ResourceAllocationSettingData")
            if d["InstanceID"].startswith(f"Microsoft:{vm_id}") and d["ResourceType"] == 16]


def test_a_second_image_changes_the_disc_in_the_same_drive(cimprovider, server):
    storage = server.data_dir / "storage"
    storage.mkdir(exist_ok=True)
    first, second = storage / "first.iso", storage / "second.iso"
    first.write_bytes(b"\0" * 2048)
    second.write_bytes(b"\0" * 2048)
    made = run_json(cimprovider, "vm", "new", "media")
    assert cimprovider("vm", "dvd", "insert", "media", str(first)).exit_code == 0
    changed = cimprovider("vm", "dvd", "insert", "media", str(second))
    assert changed.exit_code == 0, changed.stderr
    shown = run_json(cimprovider, "vm", "show", "media")["storage"]
    assert [(s["kind"], s["path"]) for s in shown] == [("dvd", str(second))]
    assert len(dvd_drives(server, made["id"])) == 1
    assert cimprovider("vm", "dvd", "eject", "media").exit_code == 0
    assert [(s["kind"], s["path"]) for s in run_json(cimprovider, "vm", "show", "media")["storage"]] == [("dvd", None)]
    assert cimprovider("vm", "dvd", "insert", "media", str(first)).exit_code == 0
    assert [(s["kind"], s["path"]) for s in run_json(cimprovider, "vm", "show", "media")["storage"]] == [("dvd", str(first))]
    assert len(dvd_drives(server, made["id"])) == 1
