"""`cimprovider switch list|new|remove|set` and `vm nic connect --vlan`
through CliRunner: what the model shows afterwards, read over pywbem, and
`vm show` / `vm list` naming switches rather than their GUIDs."""

from __future__ import annotations

from tests.cli.conftest import NS, run_json


def _switches(cimprovider) -> dict[str, dict]:
    return {s["name"]: s for s in run_json(cimprovider, "switch", "list")}


def test_switches_made_changed_and_removed(cimprovider):
    assert cimprovider("switch", "new", "back", "--notes", "storage traffic").exit_code == 0
    assert cimprovider("switch", "new", "front", "--type", "internal").exit_code == 0
    assert cimprovider("switch", "new", "wan", "--type", "external", "--adapter", "eth1").exit_code == 0
    found = _switches(cimprovider)
    assert {n: (s["type"], s["adapter"]) for n, s in found.items() if n in ("back", "front", "wan")} == {
        "back": ("private", None), "front": ("internal", None), "wan": ("external", "eth1")}
    assert found["back"]["notes"] == "storage traffic"
    assert cimprovider("switch", "set", "back", "--name", "backend", "--type", "internal").exit_code == 0
    assert _switches(cimprovider)["backend"]["type"] == "internal"
    assert cimprovider("switch", "set", "wan", "--type", "private").exit_code == 0
    idle = cimprovider("switch", "set", "wan")
    assert (idle.exit_code, idle.stderr) == (2, "cimprovider: switch set: nothing to change; give at least one option (see --help)\n")
    assert (_switches(cimprovider)["wan"]["type"], _switches(cimprovider)["wan"]["adapter"]) == ("private", None)
    for name in ("backend", "front", "wan"):
        assert cimprovider("switch", "remove", name).exit_code == 0
    assert not {"backend", "front", "wan"} & set(_switches(cimprovider))


def test_switch_commands_refuse_bad_input(cimprovider):
    assert cimprovider("switch", "new", "x", "--type", "external").exit_code == 2
    missing = cimprovider("switch", "new", "x", "--type", "external", "--adapter", "wlan9")
    assert missing.exit_code != 0 and "wlan9" in missing.stderr and "eth0" in missing.stderr
    assert cimprovider("switch", "new", "same").exit_code == 0 and cimprovider("switch", "new", "same").exit_code == 0
    twice = cimprovider("switch", "remove", "same")
    assert twice.exit_code != 0 and "2 switches have that name" in twice.stderr
    for switch in [s for s in run_json(cimprovider, "switch", "list") if s["name"] == "same"]:
        assert cimprovider("switch", "remove", switch["id"]).exit_code == 0
    taken = cimprovider("switch", "new", "up1", "--type", "external", "--adapter", "eth0")
    again = cimprovider("switch", "new", "up2", "--type", "external", "--adapter", "eth0")
    assert taken.exit_code == 0 and again.exit_code != 0 and "already bound" in again.stderr
    assert cimprovider("switch", "remove", "up1").exit_code == 0


def test_nic_connect_with_a_vlan_and_switch_names_in_vm_show_and_list(cimprovider, server):
    assert cimprovider("switch", "new", "tagged").exit_code == 0
    assert cimprovider("vm", "new", "tagger").exit_code == 0
    assert cimprovider("vm", "nic", "add", "tagger", "--nic-name", "port-t").exit_code == 0
    assert cimprovider("vm", "nic", "connect", "tagger", "port-t", "--switch", "tagged", "--vlan", "42").exit_code == 0
    assert cimprovider("vm", "nic", "connect", "tagger", "port-t", "--switch", "tagged", "--vlan", "43").exit_code == 0
    conn = server.connection(NS)
    allocation = next(a for a in conn.EnumerateInstances("Msvm_EthernetPortAllocationSettingData") if a["ElementName"] == "port-t")
    assert [v["AccessVlanId"] for v in conn.Associators(allocation.path, ResultClass="Msvm_EthernetSwitchPortVlanSettingData")] == [43]
    assert run_json(cimprovider, "vm", "show", "tagger")["network_adapters"][0]["switch"] == "tagged"
    assert next(v for v in run_json(cimprovider, "vm", "list") if v["name"] == "tagger")["switches"] == "tagged"
    assert cimprovider("vm", "nic", "connect", "tagger", "port-t", "--switch", "tagged", "--vlan", "4095").exit_code == 2
