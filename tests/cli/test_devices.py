"""vm disk/dvd/nic/kvp through CliRunner: the settings they leave on the
server (read back with pywbem), and `vm show` describing them."""

from __future__ import annotations

import pytest

from tests.cli.conftest import NS, run_json

DEFAULT_SWITCH = "c08cb7b8-9b3c-408e-8e30-5e16a3aeb444"


def media(server, vm_id):
    conn = server.connection(NS)
    return [m for m in conn.EnumerateInstances("Msvm_StorageAllocationSettingData") if m["InstanceID"].startswith(f"Microsoft:{vm_id}")]


@pytest.fixture
def vms(server):
    """A folder of image files in the server's storage root."""
    folder = server.data_dir / "storage" / "vms"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("a.vhdx", "b.vhdx", "c.vhdx", "d.vhdx", "e.vhdx", "one.iso", "two.iso"):
        (folder / name).write_bytes(bytes(64 * 1024))
    return folder


def test_disks_on_free_slots_and_removed_by_path_or_location(cimprovider, server, vms):
    made = run_json(cimprovider, "vm", "new", "disks")
    for name in ("a.vhdx", "b.vhdx", "c.vhdx"):
        result = cimprovider("vm", "disk", "add", "disks", f"{vms}/{name}")
        assert result.exit_code == 0 and result.stdout.strip() == f"attached {vms}/{name} to disks"
    storage = run_json(cimprovider, "vm", "show", "disks")["storage"]
    assert [(s["controller"], s["location"], s["path"]) for s in storage] == [
        ("scsi0", 0, f"{vms}/a.vhdx"), ("scsi0", 1, f"{vms}/b.vhdx"), ("scsi0", 2, f"{vms}/c.vhdx")]
    taken = cimprovider("vm", "disk", "add", "disks", f"{vms}/d.vhdx", "--location", "1")
    assert taken.exit_code == 1 and "scsi0 slot 1 is taken" in taken.stderr
    assert cimprovider("vm", "disk", "remove", "disks", f"{vms}/b.vhdx").exit_code == 0
    assert cimprovider("vm", "disk", "remove", "disks", "--controller", "scsi", "--location", "2").exit_code == 0
    storage = run_json(cimprovider, "vm", "show", "disks")["storage"]
    assert [s["path"] for s in storage] == [f"{vms}/a.vhdx"]
    assert [m["HostResource"] for m in media(server, made["id"])] == [[f"{vms}/a.vhdx"]]
    # A new disk takes the slot freed first.
    cimprovider("vm", "disk", "add", "disks", f"{vms}/e.vhdx")
    assert ("scsi0", 1, f"{vms}/e.vhdx") in [(s["controller"], s["location"], s["path"]) for s in run_json(cimprovider, "vm", "show", "disks")["storage"]]
    missing = cimprovider("vm", "disk", "remove", "disks", f"{vms}/zzz.vhdx")
    assert missing.exit_code == 5 and "no such disk" in missing.stderr


def test_dvd_insert_and_eject_on_ide(cimprovider, vms):
    cimprovider("vm", "new", "optical")
    assert cimprovider("vm", "dvd", "insert", "optical", f"{vms}/one.iso").exit_code == 0
    storage = run_json(cimprovider, "vm", "show", "optical")["storage"]
    assert [(s["kind"], s["controller"], s["path"]) for s in storage] == [("dvd", "ide0", f"{vms}/one.iso")]
    assert cimprovider("vm", "dvd", "eject", "optical").exit_code == 0
    assert run_json(cimprovider, "vm", "show", "optical")["storage"][0]["path"] is None
    # The empty drive takes the next image; no second drive appears.
    cimprovider("vm", "dvd", "insert", "optical", f"{vms}/two.iso")
    storage = run_json(cimprovider, "vm", "show", "optical")["storage"]
    assert [(s["kind"], s["path"]) for s in storage] == [("dvd", f"{vms}/two.iso")]
    cimprovider("vm", "dvd", "eject", "optical", "--remove-drive")
    assert run_json(cimprovider, "vm", "show", "optical")["storage"] == []


def test_media_outside_the_storage_roots_or_missing_are_refused_and_leave_no_drive(cimprovider, vms):
    cimprovider("vm", "new", "confined")
    shadow = cimprovider("vm", "disk", "add", "confined", "/etc/shadow")
    assert shadow.exit_code == 1 and "32773" in shadow.stderr
    assert "/etc/shadow leaves the storage roots" in shadow.stderr
    escape = cimprovider("vm", "disk", "add", "confined", f"{vms}/../../../x.vhdx")
    assert escape.exit_code == 1 and "leaves the storage roots" in escape.stderr
    device = cimprovider("vm", "disk", "add", "confined", "/dev/sda")
    assert device.exit_code == 1 and "/dev/sda" in device.stderr
    missing = cimprovider("vm", "dvd", "insert", "confined", f"{vms}/missing.iso")
    assert missing.exit_code == 1 and f"{vms}/missing.iso: no such file" in missing.stderr
    assert run_json(cimprovider, "vm", "show", "confined")["storage"] == []


def test_nics_added_connected_disconnected_and_removed(cimprovider, server):
    cimprovider("vm", "new", "net")
    added = cimprovider("vm", "nic", "add", "net", "--switch", "Default Switch", "--nic-name", "eth0", "--mac", "00:15:5d:0a:0b:0c")
    assert added.exit_code == 0, added.stderr
    cimprovider("vm", "nic", "add", "net", "--nic-name", "eth1")
    adapters = run_json(cimprovider, "vm", "show", "net")["network_adapters"]
    assert adapters[0] == {"name": "eth0", "mac": "00155D0A0B0C", "switch": "Default Switch"}
    assert adapters[1]["name"] == "eth1" and adapters[1]["switch"] is None
    assert cimprovider("vm", "nic", "connect", "net", "eth0", "--disconnect").exit_code == 0
    assert cimprovider("vm", "nic", "connect", "net", "eth1", "--switch", DEFAULT_SWITCH).exit_code == 0
    adapters = {a["name"]: a["switch"] for a in run_json(cimprovider, "vm", "show", "net")["network_adapters"]}
    assert adapters == {"eth0": None, "eth1": "Default Switch"}
    assert cimprovider("vm", "nic", "remove", "net", "00-15-5D-0A-0B-0C").exit_code == 0
    assert [a["name"] for a in run_json(cimprovider, "vm", "show", "net")["network_adapters"]] == ["eth1"]
    nowhere = cimprovider("vm", "nic", "add", "net", "--switch", "No Such Switch")
    assert nowhere.exit_code == 5 and "Default Switch" in nowhere.stderr
    assert cimprovider("vm", "nic", "connect", "net", "eth1").exit_code == 2


def test_kvp_set_get_remove(cimprovider, server):
    cimprovider("vm", "new", "kv")
    cimprovider("vm", "start", "kv")
    assert cimprovider("vm", "kvp", "set", "kv", "role", "web").exit_code == 0
    assert cimprovider("vm", "kvp", "set", "kv", "role", "db").exit_code == 0  # an existing key is changed
    too_long = cimprovider("vm", "kvp", "set", "kv", "role", "x" * 1025)
    assert too_long.exit_code == 1 and "32773" in too_long.stderr and "Data" in too_long.stderr
    items = {r["name"]: r for r in run_json(cimprovider, "vm", "kvp", "get", "kv")}
    assert items["OSName"]["source"] == "intrinsic" and "FullyQualifiedDomainName" in items
    assert cimprovider("vm", "kvp", "get", "kv", "OSName").stdout.strip() == items["OSName"]["data"]
    assert cimprovider("vm", "kvp", "get", "kv", "nothing-here").exit_code == 5
    assert cimprovider("vm", "kvp", "remove", "kv", "role").exit_code == 0
    again = cimprovider("vm", "kvp", "remove", "kv", "role")
    assert again.exit_code == 1 and again.stderr.startswith("cimprovider: vm kvp remove 'kv': job error")


def test_an_adapter_name_two_adapters_answer_to_is_refused(cimprovider, server):
    cimprovider("vm", "new", "twins")
    for _ in range(2):
        assert cimprovider("vm", "nic", "add", "twins", "--nic-name", "fixed").exit_code == 0
    ambiguous = cimprovider("vm", "nic", "remove", "twins", "fixed")
    assert ambiguous.exit_code == 2
    assert ambiguous.stderr.startswith("cimprovider: vm nic remove 'twins': 2 network adapters answer to 'fixed'; "
                                       "name one by its InstanceID (Microsoft:")
    assert len(run_json(cimprovider, "vm", "show", "twins")["network_adapters"]) == 2
    first = ambiguous.stderr.split("(", 1)[1].split(",")[0]
    assert cimprovider("vm", "nic", "remove", "twins", first).exit_code == 0
    assert len(run_json(cimprovider, "vm", "show", "twins")["network_adapters"]) == 1
