"""The Msvm classes of root/virtualization/v2 (reference/msvm-v2.md §1-3)."""

from __future__ import annotations

import pytest

V2 = "root/virtualization/v2"

MSVM_CLASSES = {
    # class: its superclass
    "Msvm_ComputerSystem": "CIM_ComputerSystem",
    "Msvm_PlannedComputerSystem": "CIM_ComputerSystem",
    "Msvm_VirtualEthernetSwitch": "CIM_ComputerSystem",
    "Msvm_VirtualSystemSettingData": "CIM_VirtualSystemSettingData",
    "Msvm_ResourceAllocationSettingData": "CIM_ResourceAllocationSettingData",
    "Msvm_MemorySettingData": "CIM_ResourceAllocationSettingData",
    "Msvm_ProcessorSettingData": "CIM_ResourceAllocationSettingData",
    "Msvm_SerialPortSettingData": "CIM_ResourceAllocationSettingData",
    "Msvm_SyntheticDisplayControllerSettingData": "CIM_ResourceAllocationSettingData",
    "Msvm_KvpExchangeComponentSettingData": "CIM_ResourceAllocationSettingData",
    "Msvm_StorageAllocationSettingData": "CIM_StorageAllocationSettingData",
    "Msvm_SyntheticEthernetPortSettingData": "CIM_EthernetPortAllocationSettingData",
    "Msvm_EmulatedEthernetPortSettingData": "CIM_EthernetPortAllocationSettingData",
    "Msvm_EthernetPortAllocationSettingData": "CIM_EthernetPortAllocationSettingData",
    "Msvm_VirtualEthernetSwitchSettingData": "CIM_VirtualEthernetSwitchSettingData",
    "Msvm_VirtualSystemExportSettingData": "CIM_SettingData",
    "Msvm_VirtualSystemSnapshotSettingData": "CIM_SettingData",
    "Msvm_VirtualSystemMigrationSettingData": "CIM_VirtualSystemMigrationSettingData",
    "Msvm_VirtualSystemMigrationServiceSettingData": "CIM_SettingData",
    "Msvm_VirtualSystemManagementServiceSettingData": "CIM_SettingData",
    "Msvm_VirtualHardDiskSettingData": "CIM_SettingData",
    "Msvm_VirtualHardDiskState": "CIM_ManagedElement",
    "Msvm_VirtualSystemManagementService": "CIM_VirtualSystemManagementService",
    "Msvm_VirtualSystemManagementCapabilities": "CIM_VirtualSystemManagementCapabilities",
    "Msvm_VirtualSystemSnapshotService": "CIM_VirtualSystemSnapshotService",
    "Msvm_VirtualSystemMigrationService": "CIM_VirtualSystemMigrationService",
    "Msvm_ImageManagementService": "CIM_Service",
    "Msvm_VirtualEthernetSwitchManagementService": "CIM_VirtualSystemManagementService",
    "Msvm_ConcreteJob": "CIM_ConcreteJob",
    "Msvm_StorageJob": "CIM_ConcreteJob",
    "Msvm_MigrationJob": "CIM_ConcreteJob",
    "Msvm_Error": "CIM_Error",
    "Msvm_Processor": "CIM_Processor",
    "Msvm_Memory": "CIM_Memory",
    "Msvm_DiskDrive": "CIM_DiskDrive",
    "Msvm_DVDDrive": "CIM_DVDDrive",
    "Msvm_SyntheticEthernetPort": "CIM_EthernetPort",
    "Msvm_LogicalDisk": "CIM_LogicalDisk",
    "Msvm_ShutdownComponent": "CIM_LogicalDevice",
    "Msvm_HeartbeatComponent": "CIM_LogicalDevice",
    "Msvm_KvpExchangeComponent": "CIM_LogicalDevice",
    "Msvm_TimeSyncComponent": "CIM_LogicalDevice",
    "Msvm_VssComponent": "CIM_LogicalDevice",
    "Msvm_KvpExchangeDataItem": "CIM_ManagedElement",
    "Msvm_ResourcePool": "CIM_ResourcePool",
    "Msvm_ProcessorPool": "CIM_ResourcePool",
    "Msvm_AllocationCapabilities": "CIM_AllocationCapabilities",
    "Msvm_SummaryInformationBase": "CIM_View",
    "Msvm_SummaryInformation": "Msvm_SummaryInformationBase",
    "Msvm_SettingsDefineState": "CIM_SettingsDefineState",
    "Msvm_VirtualSystemSettingDataComponent": "CIM_VirtualSystemSettingDataComponent",
    "Msvm_SystemDevice": "CIM_SystemDevice",
    "Msvm_HostedService": "CIM_HostedService",
    "Msvm_SnapshotOfVirtualSystem": "CIM_SnapshotOfVirtualSystem",
    "Msvm_MostCurrentSnapshotInBranch": "CIM_MostCurrentSnapshotInBranch",
    "Msvm_ParentChildSettingData": "CIM_Dependency",
    "Msvm_AffectedJobElement": "CIM_AffectedJobElement",
    "Msvm_OwningJobElement": "CIM_OwningJobElement",
    "Msvm_SettingsDefineCapabilities": "CIM_SettingsDefineCapabilities",
    "Msvm_ElementCapabilities": "CIM_ElementCapabilities",
    "Msvm_LastAppliedSnapshot": "CIM_LastAppliedSnapshot",
    "Msvm_ElementSettingData": "CIM_ElementSettingData",
    "Msvm_HostedDependency": "CIM_HostedDependency",
    "Msvm_ElementAllocatedFromPool": "CIM_ElementAllocatedFromPool",
    "Msvm_SystemExportSettingData": "CIM_ElementSettingData",
    "Msvm_LogicalIdentity": "CIM_LogicalIdentity",
}


@pytest.mark.parametrize(("classname", "superclass"), sorted(MSVM_CLASSES.items()))
def test_msvm_class_and_its_superclass(repo, classname, superclass):
    assert repo.get_class(V2, classname).superclass == superclass


def test_msvm_classes_are_not_in_interop(repo):
    assert not repo.has_class("root/interop", "Msvm_ComputerSystem")


def test_sibling_rule_for_dedicated_setting_classes(repo):
    for name in ("Msvm_MemorySettingData", "Msvm_ProcessorSettingData",
                 "Msvm_StorageAllocationSettingData", "Msvm_EthernetPortAllocationSettingData",
                 "Msvm_SyntheticEthernetPortSettingData"):
        assert not repo.is_subclass(V2, name, "Msvm_ResourceAllocationSettingData"), name
        assert repo.is_subclass(V2, name, "CIM_ResourceAllocationSettingData"), name
    assert repo.subclasses(V2, "Msvm_ResourceAllocationSettingData") == [
        "Msvm_ResourceAllocationSettingData"]
    every_setting = repo.subclasses(V2, "CIM_ResourceAllocationSettingData")
    assert {"Msvm_MemorySettingData", "Msvm_ProcessorSettingData",
            "Msvm_StorageAllocationSettingData", "Msvm_ResourceAllocationSettingData"} <= set(
        every_setting)


@pytest.mark.parametrize(("classname", "keys"), [
    ("Msvm_ComputerSystem", {"CreationClassName", "Name"}),
    ("Msvm_VirtualSystemSettingData", {"InstanceID"}),
    ("Msvm_MemorySettingData", {"InstanceID"}),
    ("Msvm_ConcreteJob", {"InstanceID"}),
    ("Msvm_VirtualSystemManagementService",
     {"SystemCreationClassName", "SystemName", "CreationClassName", "Name"}),
    ("Msvm_ShutdownComponent",
     {"SystemCreationClassName", "SystemName", "CreationClassName", "DeviceID"}),
    ("Msvm_ResourcePool", {"InstanceID"}),
    ("Msvm_SettingsDefineState", {"ManagedElement", "SettingData"}),
    ("Msvm_SystemDevice", {"GroupComponent", "PartComponent"}),
    ("Msvm_AffectedJobElement", {"AffectedElement", "AffectingElement"}),
])
def test_msvm_keys(repo, classname, keys):
    assert set(repo.key_names(V2, classname)) == keys


def params(repo, classname, method):
    return repo.method(V2, classname, method).parameters


def test_define_system_signature(repo):
    p = params(repo, "Msvm_VirtualSystemManagementService", "DefineSystem")
    assert list(p) == ["SystemSettings", "ResourceSettings", "ReferenceConfiguration",
                       "ResultingSystem", "Job"]
    assert p["SystemSettings"].qualifiers["EmbeddedInstance"].value == "CIM_VirtualSystemSettingData"
    assert p["ResourceSettings"].is_array and p["ResourceSettings"].embedded_object == "instance"
    assert p["ResultingSystem"].qualifiers["Out"].value is True
    assert p["Job"].reference_class == "CIM_ConcreteJob"


@pytest.mark.parametrize("method", [
    "DefineSystem", "DestroySystem", "ModifySystemSettings", "AddResourceSettings",
    "ModifyResourceSettings", "RemoveResourceSettings", "GetSummaryInformation",
    "AddKvpItems", "ModifyKvpItems", "RemoveKvpItems", "ExportSystemDefinition",
    "ImportSystemDefinition", "ValidatePlannedSystem", "RealizePlannedSystem",
    "AddFeatureSettings", "ModifyFeatureSettings", "RemoveFeatureSettings",
])
def test_management_service_methods(repo, method):
    assert repo.method(V2, "Msvm_VirtualSystemManagementService", method).return_type == "uint32"


def test_get_summary_information_returns_embedded_summaries(repo):
    p = params(repo, "Msvm_VirtualSystemManagementService", "GetSummaryInformation")
    assert list(p) == ["SettingData", "RequestedInformation", "SummaryInformation"]
    out = p["SummaryInformation"]
    assert out.is_array and out.qualifiers["Out"].value is True
    assert out.qualifiers["EmbeddedInstance"].value == "Msvm_SummaryInformation"
    values = dict(zip(p["RequestedInformation"].qualifiers["ValueMap"].value,
                      p["RequestedInformation"].qualifiers["Values"].value))
    assert values["100"] == "EnabledState" and values["103"] == "MemoryUsage"


def test_kvp_methods_take_embedded_items(repo):
    p = params(repo, "Msvm_VirtualSystemManagementService", "AddKvpItems")
    assert list(p) == ["TargetSystem", "DataItems", "Job"]
    assert p["DataItems"].qualifiers["EmbeddedInstance"].value == "Msvm_KvpExchangeDataItem"


def test_create_snapshot_resulting_snapshot_is_in_and_out(repo):
    p = params(repo, "Msvm_VirtualSystemSnapshotService", "CreateSnapshot")
    assert list(p) == ["AffectedSystem", "SnapshotSettings", "SnapshotType",
                       "ResultingSnapshot", "Job"]
    assert p["ResultingSnapshot"].qualifiers["In"].value is True
    assert p["ResultingSnapshot"].qualifiers["Out"].value is True
    for method in ("ApplySnapshot", "DestroySnapshot", "DestroySnapshotTree"):
        assert repo.method(V2, "Msvm_VirtualSystemSnapshotService", method)


@pytest.mark.parametrize(("method", "inputs"), [
    ("CreateVirtualHardDisk", ["VirtualDiskSettingData"]),
    ("ResizeVirtualHardDisk", ["Path", "MaxInternalSize"]),
    ("GetVirtualHardDiskSettingData", ["Path"]),
    ("SetVirtualHardDiskSettingData", ["VirtualDiskSettingData"]),
    ("SetParentVirtualHardDisk", ["ChildPath", "ParentPath", "LeafPath", "IgnoreIDMismatch"]),
    ("MergeVirtualHardDisk", ["SourcePath", "DestinationPath"]),
    ("ConvertVirtualHardDisk", ["SourcePath", "VirtualDiskSettingData"]),
    ("CompactVirtualHardDisk", ["Path", "Mode"]),
    ("ValidateVirtualHardDisk", ["Path"]),
    ("AttachVirtualHardDisk", ["Path", "AssignDriveLetter", "ReadOnly"]),
])
def test_image_management_methods(repo, method, inputs):
    p = params(repo, "Msvm_ImageManagementService", method)
    assert [n for n, v in p.items() if v.qualifiers["In"].value] == inputs
    assert p["Job"].qualifiers["Out"].value is True


def test_migration_methods(repo):
    p = params(repo, "Msvm_VirtualSystemMigrationService", "MigrateVirtualSystemToHost")
    assert list(p)[:5] == ["ComputerSystem", "DestinationHost", "MigrationSettingData",
                           "NewSystemSettingData", "NewResourceSettingData"]
    check = params(repo, "Msvm_VirtualSystemMigrationService",
                   "CheckVirtualSystemIsMigratableToHost")
    assert check["IsMigratable"].type == "boolean"


def test_shutdown_component_methods(repo):
    for method in ("InitiateShutdown", "InitiateReboot"):
        p = params(repo, "Msvm_ShutdownComponent", method)
        assert [(n, v.type) for n, v in p.items()] == [("Force", "boolean"), ("Reason", "string")]


def test_job_error_methods(repo):
    assert params(repo, "Msvm_ConcreteJob", "GetError")["Error"].qualifiers[
        "EmbeddedInstance"].value == "CIM_Error"
    errors = params(repo, "Msvm_ConcreteJob", "GetErrorEx")["Errors"]
    assert errors.is_array and errors.qualifiers["EmbeddedInstance"].value == "Msvm_Error"
    assert repo.method(V2, "Msvm_StorageJob", "GetErrorEx")
    assert "MigrationType" in repo.get_class(V2, "Msvm_MigrationJob").properties


def test_computer_system_request_state_change_is_overridden_locally(repo):
    method = repo.method(V2, "Msvm_ComputerSystem", "RequestStateChange")
    assert not method.propagated and method.class_origin == "Msvm_ComputerSystem"
    assert list(method.parameters) == ["RequestedState", "Job", "TimeoutPeriod"]
    codes = dict(zip(method.qualifiers["ValueMap"].value, method.qualifiers["Values"].value))
    assert codes["32775"] == "Invalid state for this operation"
    state = repo.get_class(V2, "Msvm_ComputerSystem").properties["EnabledState"]
    states = dict(zip(state.qualifiers["ValueMap"].value, state.qualifiers["Values"].value))
    assert states["32773"] == "Saving" and states["32776"] == "Pausing"


def test_every_reference_and_embedded_instance_names_a_class_of_the_namespace(repo):
    for ns in repo.namespaces():
        for name in repo.class_names(ns, deep=True):
            cls = repo.get_class(ns, name)
            elements = list(cls.properties.values())
            for method in cls.methods.values():
                elements.extend(method.parameters.values())
            for element in elements:
                if element.type == "reference":
                    assert repo.has_class(ns, element.reference_class), (name, element.name)
                embedded = element.qualifiers.get("EmbeddedInstance")
                if embedded is not None:
                    assert repo.has_class(ns, embedded.value), (name, element.name)
                    assert element.embedded_object == "instance"


def test_every_concrete_class_has_keys_unless_embedded_only(repo):
    embedded_only = {"CIM_Error", "Msvm_Error", "Msvm_KvpExchangeDataItem",
                     "Msvm_VirtualHardDiskState", "Msvm_SummaryInformation"}
    for name in repo.class_names(V2, deep=True):
        if repo.is_abstract(V2, name) or repo.is_indication(V2, name) or name in embedded_only:
            continue
        assert repo.key_names(V2, name), name
