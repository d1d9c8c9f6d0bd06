"""GetSummaryInformation code 107 lists a VM's snapshots, as Hyper-V
Manager's snapshot count reads them."""

from __future__ import annotations

from pywbem import Uint32

from tests.integration.model.hyperv import define_vm, service
from tests.integration.storage.test_snapshots import take


def summary(conn, vm):
    vssd = conn.Associators(vm, AssocClass="Msvm_SettingsDefineState", ResultClass="Msvm_VirtualSystemSettingData")[0]
    code, out = conn.InvokeMethod(
        "GetSummaryInformation", service(conn), SettingData=[vssd.path], RequestedInformation=[Uint32(1), Uint32(107)]
    )
    assert code == 0
    return out["SummaryInformation"][0]


def test_summary_lists_snapshots_oldest_first(conn):
    vm = define_vm(conn, "summarised")
    assert summary(conn, vm)["Snapshots"] == []
    first, second = take(conn, vm), take(conn, vm)
    listed = summary(conn, vm)["Snapshots"]
    assert [s["InstanceID"] for s in listed] == [first.keybindings["InstanceID"], second.keybindings["InstanceID"]]
    assert all(s["VirtualSystemType"] == "Microsoft:Hyper-V:Snapshot:Realized" for s in listed)


def test_settings_query_with_where_while_snapshots_exist(conn):
    vm = define_vm(conn, "queried-with-snapshots")
    snapshot = take(conn, vm)
    rows = conn.ExecQuery(
        "WQL", f"SELECT * FROM Msvm_VirtualSystemSettingData WHERE InstanceID = '{snapshot.keybindings['InstanceID']}'"
    )
    assert [r["VirtualSystemType"] for r in rows] == ["Microsoft:Hyper-V:Snapshot:Realized"]
    named = conn.ExecQuery("WQL", "SELECT * FROM Msvm_VirtualSystemSettingData WHERE ElementName = 'queried-with-snapshots'")
    assert "Microsoft:Hyper-V:System:Realized" in {r["VirtualSystemType"] for r in named}
