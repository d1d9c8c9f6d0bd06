"""A small Msvm-like model for query tests: every instance has a label,
a path in root/virtualization/v2 on host WIN-HOST, and values shaped the
way Hyper-V returns them (GUID names, `Microsoft:<GUID>\\…` InstanceIDs,
uint64 numbers, path text in Parent, references in associations).
"""

from __future__ import annotations

from pywbem import (CIMDateTime, CIMInstance, CIMInstanceName, CIMProperty, Uint16, Uint32,
                    Uint64)

from cimprovider.query import StaticQueryContext, format_object_path

HOST = "WIN-HOST"
NAMESPACE = "root/virtualization/v2"
GUID1 = "6B7C1D8E-3F4A-4C2B-9D1E-0A1B2C3D4E5F"
GUID2 = "0E9D8C7B-6A5F-4E3D-2C1B-0A9F8E7D6C5B"
GUID3 = "11111111-2222-3333-4444-555555555555"
SNAP = "ABCDEF01-2345-6789-ABCD-EF0123456789"
MEMORY = "4764334D-E001-4176-82EE-5594EC9B530E"
PROCESSOR = "B637F346-6A0E-4DEC-AF52-BD70CB80A21D"
IDE = "83F8638B-8DCA-4152-9EDA-2CA8B33039B4"
SCSI = "D422512C-2F5A-44C4-9A3B-3A2C6F1C7D2E"
NIC = "C4A3F2E1-D0B9-4A87-9654-3210FEDCBA98"
DISK = "6A45335D-4C3A-44B7-B61F-C9808BBDF8ED"
SWITCH = "9A8B7C6D-5E4F-4A3B-2C1D-0E1F2A3B4C5D"

SUPERCLASSES: dict[str, str | None] = {
    "CIM_ManagedElement": None,
    "CIM_LogicalElement": "CIM_ManagedElement",
    "CIM_EnabledLogicalElement": "CIM_LogicalElement",
    "CIM_System": "CIM_EnabledLogicalElement",
    "CIM_ComputerSystem": "CIM_System",
    "Msvm_ComputerSystem": "CIM_ComputerSystem",
    "CIM_VirtualEthernetSwitch": "CIM_ComputerSystem",
    "Msvm_VirtualEthernetSwitch": "CIM_VirtualEthernetSwitch",
    "CIM_SettingData": "CIM_ManagedElement",
    "CIM_VirtualSystemSettingData": "CIM_SettingData",
    "Msvm_VirtualSystemSettingData": "CIM_VirtualSystemSettingData",
    "CIM_VirtualSystemMigrationSettingData": "CIM_SettingData",
    "Msvm_VirtualSystemMigrationSettingData": "CIM_VirtualSystemMigrationSettingData",
    "CIM_ResourceAllocationSettingData": "CIM_SettingData",
    "Msvm_ResourceAllocationSettingData": "CIM_ResourceAllocationSettingData",
    "Msvm_MemorySettingData": "CIM_ResourceAllocationSettingData",
    "Msvm_ProcessorSettingData": "CIM_ResourceAllocationSettingData",
    "CIM_StorageAllocationSettingData": "CIM_ResourceAllocationSettingData",
    "Msvm_StorageAllocationSettingData": "CIM_StorageAllocationSettingData",
    "CIM_EthernetPortAllocationSettingData": "CIM_ResourceAllocationSettingData",
    "Msvm_SyntheticEthernetPortSettingData": "CIM_EthernetPortAllocationSettingData",
    "Msvm_EthernetPortAllocationSettingData": "CIM_EthernetPortAllocationSettingData",
    "CIM_ResourcePool": "CIM_LogicalElement",
    "Msvm_ResourcePool": "CIM_ResourcePool",
    "CIM_Job": "CIM_LogicalElement",
    "CIM_ConcreteJob": "CIM_Job",
    "Msvm_ConcreteJob": "CIM_ConcreteJob",
    "Msvm_MigrationJob": "CIM_ConcreteJob",
    "CIM_AffectedJobElement": None,
    "Msvm_AffectedJobElement": "CIM_AffectedJobElement",
    "CIM_MostCurrentSnapshotInBranch": None,
    "Msvm_MostCurrentSnapshotInBranch": "CIM_MostCurrentSnapshotInBranch",
    "CIM_LogicalIdentity": None,
    "Msvm_LogicalIdentity": "CIM_LogicalIdentity",
    "CIM_LogicalDevice": "CIM_EnabledLogicalElement",
    "CIM_DiskDrive": "CIM_LogicalDevice",
    "Msvm_DiskDrive": "CIM_DiskDrive",
    "Msvm_ShutdownComponent": "CIM_EnabledLogicalElement",
    "CIM_EthernetPort": "CIM_LogicalDevice",
    "Msvm_ExternalEthernetPort": "CIM_EthernetPort",
    "CIM_Service": "CIM_EnabledLogicalElement",
    "Msvm_VirtualSystemManagementService": "CIM_Service",
}

KEYS: dict[str, tuple[str, ...]] = {
    "Msvm_ComputerSystem": ("CreationClassName", "Name"),
    "Msvm_VirtualEthernetSwitch": ("CreationClassName", "Name"),
    "Msvm_DiskDrive": ("CreationClassName", "DeviceID", "SystemCreationClassName", "SystemName"),
    "Msvm_ShutdownComponent": ("CreationClassName", "DeviceID", "SystemCreationClassName",
                               "SystemName"),
    "Msvm_ExternalEthernetPort": ("CreationClassName", "DeviceID", "SystemCreationClassName",
                                  "SystemName"),
    "Msvm_VirtualSystemManagementService": ("CreationClassName", "Name",
                                            "SystemCreationClassName", "SystemName"),
    "Msvm_AffectedJobElement": ("AffectedElement", "AffectingElement"),
    "Msvm_MostCurrentSnapshotInBranch": ("Antecedent", "Dependent"),
    "Msvm_LogicalIdentity": ("SameElement", "SystemElement"),
}

CONTEXT = StaticQueryContext(namespace=NAMESPACE, host=HOST, superclasses=SUPERCLASSES)


def _property(name: str, value: object) -> CIMProperty:
    if isinstance(value, CIMProperty):
        return value
    if isinstance(value, CIMInstanceName):
        return CIMProperty(name, value, type="reference")
    if isinstance(value, CIMInstance):
        return CIMProperty(name, value, embedded_object="instance")
    if value is None:
        return CIMProperty(name, None, type="string")
    if isinstance(value, list) and not value:
        return CIMProperty(name, [], type="string", is_array=True)
    return CIMProperty(name, value)


def make(classname: str, **properties: object) -> CIMInstance:
    instance = CIMInstance(classname)
    for name, value in properties.items():
        instance.properties[name] = _property(name, value)
    keys = KEYS.get(classname, ("InstanceID",))
    if all(key in properties for key in keys):
        instance.path = CIMInstanceName(
            classname, keybindings={k: properties[k] for k in keys},
            namespace=NAMESPACE, host=HOST)
    return instance


def path_text(instance: CIMInstance) -> str:
    """Path text as WMI writes `__PATH`: \\\\HOST\\ns:Class.K="v" with `\\` doubled."""
    return format_object_path(instance.path)


def _system(name: str, element: str, state: int, **extra: object) -> CIMInstance:
    return make("Msvm_ComputerSystem", CreationClassName="Msvm_ComputerSystem", Name=name,
                ElementName=element, EnabledState=Uint16(state), **extra)


def _rasd(classname: str, instance_id: str, resource_type: int, subtype: str,
          **extra: object) -> CIMInstance:
    return make(classname, InstanceID=instance_id, ResourceType=Uint16(resource_type),
                ResourceSubType=subtype, **extra)


def _build() -> dict[str, CIMInstance]:
    m: dict[str, CIMInstance] = {}
    m["host"] = _system(HOST, HOST, 2, Caption="Hosting Computer System",
                        Description="Microsoft Hosting Computer System")
    m["vm1"] = _system(GUID1, "web01", 2, Caption="Virtual Machine",
                       Description="Microsoft Virtual Machine",
                       OnTimeInMilliseconds=Uint64(123456789),
                       InstallDate=CIMDateTime("20240315120000.000000+000"))
    m["vm2"] = _system(GUID2, "db-02", 3, Caption="Virtual Machine",
                       Description="Microsoft Virtual Machine",
                       OnTimeInMilliseconds=Uint64(0),
                       InstallDate=CIMDateTime("20230101080000.000000+000"))
    m["vm3"] = _system(GUID3, "it's_50%", 32769, Caption="Virtual Machine", Description=None)
    m["switch1"] = make("Msvm_VirtualEthernetSwitch",
                        CreationClassName="Msvm_VirtualEthernetSwitch", Name=SWITCH,
                        ElementName="External Switch", EnabledState=Uint16(5),
                        Caption="Virtual Switch")
    root = "C:\\ProgramData\\Microsoft\\Windows\\Hyper-V"
    m["vssd1"] = make("Msvm_VirtualSystemSettingData", InstanceID=f"Microsoft:{GUID1}",
                      ElementName="web01", VirtualSystemType="Microsoft:Hyper-V:System:Realized",
                      VirtualSystemIdentifier=GUID1, Notes=["web server"],
                      VirtualSystemSubType="Microsoft:Hyper-V:SubType:2",
                      SecureBootEnabled=True, AutomaticStartupAction=Uint16(2),
                      ConfigurationDataRoot=root, Version="9.0")
    m["vssd2"] = make("Msvm_VirtualSystemSettingData", InstanceID=f"Microsoft:{GUID2}",
                      ElementName="db-02", VirtualSystemType="Microsoft:Hyper-V:System:Realized",
                      VirtualSystemIdentifier=GUID2, Notes=[],
                      VirtualSystemSubType="Microsoft:Hyper-V:SubType:1",
                      SecureBootEnabled=False, AutomaticStartupAction=Uint16(4),
                      ConfigurationDataRoot="D:\\VMs", Version="8.0")
    m["snap1"] = make("Msvm_VirtualSystemSettingData", InstanceID=f"Microsoft:{SNAP}",
                      ElementName="web01 - (3/15/2024 - 12:00:00 PM)",
                      VirtualSystemType="Microsoft:Hyper-V:Snapshot:Realized",
                      VirtualSystemIdentifier=GUID1, Notes=None, Parent=None)
    memory = "Microsoft:Hyper-V:Memory"
    m["mem1"] = _rasd("Msvm_MemorySettingData", f"Microsoft:{GUID1}\\{MEMORY}", 4, memory,
                      ElementName="Memory", VirtualQuantity=Uint64(4096),
                      Reservation=Uint64(2048), Limit=Uint64(1048576),
                      DynamicMemoryEnabled=True)
    m["mem2"] = _rasd("Msvm_MemorySettingData", f"Microsoft:{GUID2}\\{MEMORY}", 4, memory,
                      ElementName="Memory", VirtualQuantity=Uint64(8192),
                      Reservation=Uint64(8192), Limit=Uint64(8192),
                      DynamicMemoryEnabled=False)
    m["memdefault"] = _rasd("Msvm_MemorySettingData", f"Microsoft:Definition\\{MEMORY}\\Default",
                            4, memory, ElementName="Memory", VirtualQuantity=Uint64(512))
    m["cpu1"] = _rasd("Msvm_ProcessorSettingData", f"Microsoft:{GUID1}\\{PROCESSOR}\\0", 3,
                      "Microsoft:Hyper-V:Processor", ElementName="Processor",
                      VirtualQuantity=Uint64(2), Limit=Uint64(100000))
    m["ide1"] = _rasd("Msvm_ResourceAllocationSettingData", f"Microsoft:{GUID1}\\{IDE}\\0", 5,
                      "Microsoft:Hyper-V:Emulated IDE Controller",
                      ElementName="IDE Controller 0", Address="0")
    m["scsi1"] = _rasd("Msvm_ResourceAllocationSettingData", f"Microsoft:{GUID1}\\{SCSI}", 6,
                       "Microsoft:Hyper-V:Synthetic SCSI Controller",
                       ElementName="SCSI Controller")
    ide_path, scsi_path = path_text(m["ide1"]), path_text(m["scsi1"])
    m["drive1"] = _rasd("Msvm_ResourceAllocationSettingData",
                        f"Microsoft:{GUID1}\\{IDE}\\0\\0\\D", 17,
                        "Microsoft:Hyper-V:Synthetic Disk Drive", ElementName="Hard Drive",
                        Parent=ide_path, AddressOnParent="0")
    m["dvd1"] = _rasd("Msvm_ResourceAllocationSettingData",
                      f"Microsoft:{GUID1}\\{IDE}\\0\\1\\D", 16,
                      "Microsoft:Hyper-V:Synthetic DVD Drive", ElementName="DVD Drive",
                      Parent=ide_path, AddressOnParent="1")
    m["passthru1"] = _rasd("Msvm_ResourceAllocationSettingData",
                           f"Microsoft:{GUID1}\\{SCSI}\\0\\D", 17,
                           "Microsoft:Hyper-V:Physical Disk Drive", ElementName="Hard Drive",
                           Parent=scsi_path, AddressOnParent="0")
    m["drivedefault"] = _rasd("Msvm_ResourceAllocationSettingData",
                              f"Microsoft:Definition\\{DISK}\\Default",
                              17, "Microsoft:Hyper-V:Synthetic Disk Drive",
                              ElementName="Hard Drive")
    m["vhd1"] = _rasd("Msvm_StorageAllocationSettingData",
                      f"Microsoft:{GUID1}\\{IDE}\\0\\0\\L", 31,
                      "Microsoft:Hyper-V:Virtual Hard Disk", ElementName="Hard Disk Image",
                      HostResource=["C:\\VMs\\web01.vhdx"], Parent=path_text(m["drive1"]))
    m["nic1"] = _rasd("Msvm_SyntheticEthernetPortSettingData", f"Microsoft:{GUID1}\\{NIC}", 10,
                      "Microsoft:Hyper-V:Synthetic Ethernet Port",
                      ElementName="Network Adapter", Address="00155D010203",
                      StaticMacAddress=False, VirtualSystemIdentifiers=[f"{{{NIC}}}"])
    m["port1"] = _rasd("Msvm_EthernetPortAllocationSettingData", f"Microsoft:{GUID1}\\{NIC}\\C",
                       33, "Microsoft:Hyper-V:Ethernet Connection", ElementName="port-1234",
                       EnabledState=Uint16(2), Parent=path_text(m["nic1"]),
                       HostResource=[path_text(m["switch1"])])
    vhd = "Microsoft:Hyper-V:Virtual Hard Disk"
    m["pool_mem"] = make("Msvm_ResourcePool",
                         InstanceID="Microsoft:4764334E-E001-4176-82EE-5594EC9B530E",
                         ResourceType=Uint16(4), ResourceSubType=memory, Primordial=True,
                         PoolID="")
    m["pool_vhd"] = make("Msvm_ResourcePool",
                         InstanceID="Microsoft:70BB60D2-A9D3-46AA-B654-3DE53004B4F8",
                         ResourceType=Uint16(31), ResourceSubType=vhd,
                         Primordial=True, PoolID="")
    m["pool_child"] = make("Msvm_ResourcePool", InstanceID="Microsoft:Pool1",
                           ResourceType=Uint16(31),
                           ResourceSubType="Microsoft:Hyper-V:Virtual Hard Disk",
                           Primordial=False, PoolID="Pool1")
    m["migsd"] = make("Msvm_VirtualSystemMigrationSettingData",
                      InstanceID="Microsoft:Definition\\MigrationSettingData\\Default",
                      MigrationType=Uint16(32770), DestinationIPAddressList=None)
    m["ext1"] = make("Msvm_ExternalEthernetPort", CreationClassName="Msvm_ExternalEthernetPort",
                     DeviceID="Microsoft:NIC-A", SystemCreationClassName="Msvm_ComputerSystem",
                     SystemName=HOST, ElementName="Intel Ethernet", EnabledForVirtualization=True)
    m["ext2"] = make("Msvm_ExternalEthernetPort", CreationClassName="Msvm_ExternalEthernetPort",
                     DeviceID="Microsoft:NIC-B", SystemCreationClassName="Msvm_ComputerSystem",
                     SystemName=HOST, ElementName="Broadcom Ethernet",
                     EnabledForVirtualization=False)
    m["disk3"] = make("Msvm_DiskDrive", CreationClassName="Msvm_DiskDrive",
                      DeviceID="Microsoft:DISK3", SystemCreationClassName="Msvm_ComputerSystem",
                      SystemName=HOST, DriveNumber=Uint32(3), ElementName="Disk 3")
    m["shutdown1"] = make("Msvm_ShutdownComponent", CreationClassName="Msvm_ShutdownComponent",
                          DeviceID=f"Microsoft:{GUID1}\\9F8233AC-BE49-4C79-8EE3-E7E1985B2077",
                          SystemCreationClassName="Msvm_ComputerSystem", SystemName=GUID1,
                          EnabledState=Uint16(2))
    m["vmms"] = make("Msvm_VirtualSystemManagementService",
                     CreationClassName="Msvm_VirtualSystemManagementService", Name="vmms",
                     SystemCreationClassName="Msvm_ComputerSystem", SystemName=HOST,
                     ElementName="Virtual System Management Service")
    m["job1"] = make("Msvm_ConcreteJob", InstanceID="9C4D5E6F-7A8B-4C9D-8E0F-1A2B3C4D5E6F",
                     JobState=Uint16(4), PercentComplete=Uint16(50), JobType=Uint16(70),
                     ErrorCode=Uint16(0), ElementName="Creating snapshot")
    m["job2"] = make("Msvm_MigrationJob", InstanceID="1F2E3D4C-5B6A-4978-8695-A4B3C2D1E0F9",
                     JobState=Uint16(7), PercentComplete=Uint16(100), JobType=Uint16(0),
                     MigrationType=Uint16(32768), VirtualSystemName=GUID2,
                     ElementName="Migrating")
    m["aje1"] = make("Msvm_AffectedJobElement", AffectedElement=m["vm1"].path,
                     AffectingElement=m["job1"].path)
    m["aje2"] = make("Msvm_AffectedJobElement", AffectedElement=m["vm2"].path,
                     AffectingElement=m["job2"].path)
    m["mcsib1"] = make("Msvm_MostCurrentSnapshotInBranch", Antecedent=m["vm1"].path,
                       Dependent=m["snap1"].path)
    boot = CIMInstanceName("Msvm_BootSourceSettingData",
                           keybindings={"InstanceID": f"Microsoft:{GUID1}\\BOOT\\0"},
                           namespace=NAMESPACE, host=HOST)
    m["identity1"] = make("Msvm_LogicalIdentity", SystemElement=m["drive1"].path,
                          SameElement=boot)
    _events(m)
    return m


def _events(m: dict[str, CIMInstance]) -> None:
    def changed(instance: CIMInstance, **values: object) -> CIMInstance:
        copy = instance.copy()  # shares CIMProperty objects: replace, never mutate
        for name, value in values.items():
            replaced = copy.properties[name].copy()
            replaced.value = value
            copy.properties[name] = replaced
        return copy

    m["ev_mod_vm1"] = make("CIM_InstModification", SourceInstance=m["vm1"],
                           PreviousInstance=changed(m["vm1"], EnabledState=Uint16(3)),
                           IndicationIdentifier="1")
    m["ev_mod_vm2_same"] = make("CIM_InstModification", SourceInstance=m["vm2"],
                                PreviousInstance=m["vm2"].copy(), IndicationIdentifier="2")
    m["ev_create_nic"] = make("CIM_InstCreation", SourceInstance=m["nic1"],
                              IndicationIdentifier="3")
    m["ev_delete_vm3"] = make("CIM_InstDeletion", SourceInstance=m["vm3"],
                              IndicationIdentifier="4")
    # The WMI shape of an event, as a WMI-minded producer would render it.
    m["ev_wmi_mod_vm2"] = make("__InstanceModificationEvent",
                               TargetInstance=changed(m["vm2"], EnabledState=Uint16(2)),
                               PreviousInstance=m["vm2"].copy())


MODEL: dict[str, CIMInstance] = _build()
