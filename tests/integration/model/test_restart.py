"""Stop the server between steps and start another on the same data
directory: the VM, its settings, its devices and its state are all there."""

from __future__ import annotations

import uuid

from pywbem import CIMInstance

from tests.integration.model.hyperv import NS, check, define_vm, request_state, service, settings_of, state, template
from tests.support.live import in_process_server


def test_everything_survives_restarts(tmp_path):
    with in_process_server(tmp_path) as live:
        conn = live.connection(NS)
        vm = define_vm(conn, "persistent")
        controller = template(conn, "Msvm_ResourceAllocationSettingData", "Microsoft:Hyper-V:Synthetic SCSI Controller")
        vssd = conn.AssociatorNames(vm, AssocClass="Msvm_SettingsDefineState")[0]
        check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vssd, ResourceSettings=[controller.tocimxmlstr()]))
        nic = template(conn, "Msvm_SyntheticEthernetPortSettingData")
        nic["ElementName"] = "nic-" + str(uuid.uuid4())[:8]
        check(conn, conn.InvokeMethod("AddResourceSettings", service(conn), AffectedConfiguration=vm, ResourceSettings=[nic.tocimxmlstr()]))
        before = sorted(s["InstanceID"] for s in conn.Associators(vssd, AssocClass="Msvm_VirtualSystemSettingDataComponent"))
        mac = settings_of(conn, "Msvm_SyntheticEthernetPortSettingData", vm)[0]["Address"]
    with in_process_server(tmp_path) as live:
        conn = live.connection(NS)
        assert conn.GetInstance(vm)["ElementName"] == "persistent"
        after = sorted(s["InstanceID"] for s in conn.Associators(vssd, AssocClass="Msvm_VirtualSystemSettingDataComponent"))
        assert after == before
        assert settings_of(conn, "Msvm_SyntheticEthernetPortSettingData", vm)[0]["Address"] == mac
        assert request_state(conn, vm, 2)[0] == 4096
        assert request_state(conn, vm, 6)[0] == 4096
    with in_process_server(tmp_path) as live:
        conn = live.connection(NS)
        assert state(conn, vm) == 6
        assert conn.GetInstance(conn.AssociatorNames(vm, AssocClass="Msvm_SettingsDefineState")[0])["IsSaved"] is True
        assert request_state(conn, vm, 2)[0] == 4096
        assert state(conn, vm) == 2
        item = CIMInstance("Msvm_KvpExchangeDataItem", properties={"Name": "k", "Data": "v"})
        check(conn, conn.InvokeMethod("AddKvpItems", service(conn), TargetSystem=vm, DataItems=[item.tocimxmlstr()]))
