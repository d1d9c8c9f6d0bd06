"""The migration service's side of the model as os-win reads it: the
service with a listener address, its settings and capabilities, and one
migration setting per MigrationType picked with a quoted WHERE."""

from __future__ import annotations

from pywbem import CIMInstance, CIMError, Uint32

from tests.integration.model.hyperv import NS


def test_service_listens_somewhere_and_counts_nothing_in_flight(conn):
    services = conn.EnumerateInstances("Msvm_VirtualSystemMigrationService")
    assert len(services) == 1
    service = services[0]
    assert service["Name"] == "migrationwmi"
    assert service["MigrationServiceListenerIPAddressList"] == ["127.0.0.1"]
    assert service["ActiveVirtualSystemMigrationCount"] == 0


def test_one_setting_per_migration_type_selected_with_a_quoted_where(conn):
    every = conn.EnumerateInstances("Msvm_VirtualSystemMigrationSettingData")
    assert sorted(int(i["MigrationType"]) for i in every) == [32768, 32769, 32770, 32771]
    found = conn.ExecQuery("WQL", "SELECT * FROM Msvm_VirtualSystemMigrationSettingData WHERE MigrationType = '32771'", NS)
    assert len(found) == 1
    setting = found[0]
    assert setting["MigrationType"] == 32771
    assert setting["TransportType"] == 5
    # Hyper-V's properties, with Hyper-V's types
    cls = conn.GetClass("Msvm_VirtualSystemMigrationSettingData", LocalOnly=False)
    assert cls.properties["Bandwidth"].type == "uint16"
    for name in ("OtherTransportType", "BandwidthUnit", "AvoidRemovingVHDs", "AllowOverwriteExistingFile",
                 "CancelIfBlackoutThresholdExceeded", "CPUCappingMagnitude"):
        assert name in setting.properties, name
    assert setting["AllowOverwriteExistingFile"] is False


def test_service_settings_change_through_modify_service_settings(conn):
    service = conn.EnumerateInstanceNames("Msvm_VirtualSystemMigrationService")[0]
    settings = conn.EnumerateInstances("Msvm_VirtualSystemMigrationServiceSettingData")[0]
    assert settings["EnableVirtualSystemMigration"] is True
    assert settings["MaximumActiveVirtualSystemMigration"] == 2
    settings["MaximumActiveVirtualSystemMigration"] = Uint32(5)
    code, _ = conn.InvokeMethod("ModifyServiceSettings", service, ServiceSettingData=settings.tocimxmlstr())
    assert code == 0
    again = conn.EnumerateInstances("Msvm_VirtualSystemMigrationServiceSettingData")[0]
    assert again["MaximumActiveVirtualSystemMigration"] == 5
    settings["MaximumActiveVirtualSystemMigration"] = Uint32(0)
    code, _ = conn.InvokeMethod("ModifyServiceSettings", service, ServiceSettingData=settings.tocimxmlstr())
    assert code == 32773
    wrong = CIMInstance("Msvm_VirtualSystemSettingData", properties={"ElementName": "x"})
    code, _ = conn.InvokeMethod("ModifyServiceSettings", service, ServiceSettingData=wrong.tocimxmlstr())
    assert code == 32773
    settings["MaximumActiveVirtualSystemMigration"] = Uint32(2)
    assert conn.InvokeMethod("ModifyServiceSettings", service, ServiceSettingData=settings.tocimxmlstr())[0] == 0


def test_capabilities_name_the_destination_forms(conn):
    caps = conn.EnumerateInstances("Msvm_VirtualSystemMigrationCapabilities")
    assert len(caps) == 1
    assert 4 in caps[0]["DestinationHostFormatsSupported"]


def test_migration_jobs_are_not_concrete_jobs_and_unknown_ones_are_not_found(conn):
    assert conn.EnumerateInstances("Msvm_MigrationJob") == []
    from pywbem import CIMInstanceName
    try:
        conn.GetInstance(CIMInstanceName("Msvm_MigrationJob", keybindings={"InstanceID": "00000000-0000-0000-0000-000000000001"}, namespace=NS))
    except CIMError as error:
        assert error.status_code == 6
    else:
        raise AssertionError("a job that never was was found")
