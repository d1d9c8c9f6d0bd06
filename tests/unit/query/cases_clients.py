"""Queries real Hyper-V clients send (msvm-v2.md §5): os-win, the MS samples,
CloudStack, the Python wmi module, and event subscriptions."""

from __future__ import annotations

from .case_table import (CQL, DRIVE1, EVENTS_CS, GUID1_RASD, IDE1, OSWIN_EVENT, VM1, WQL, ok,
                         quoted, raw)
from .model import GUID1, GUID2, HOST, NAMESPACE

# --- msvm-v2.md §5: lookups (os-win) -------------------------------------
S = "os-win"
ok("vssd-realized", WQL, "SELECT ElementName, Notes FROM Msvm_VirtualSystemSettingData WHERE "
   "VirtualSystemType = 'Microsoft:Hyper-V:System:Realized'", "vssd1", "vssd2", source=S)
ok("vssd-by-name", WQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE ElementName = 'web01'",
   "vssd1", source=S)
ok("cs-by-name", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName = 'web01'", "vm1",
   source=S)
ok("cs-by-name-other-case", WQL,
   "SELECT * FROM Msvm_ComputerSystem WHERE ElementName = 'WEB01'", "vm1")
ok("cs-by-guid", WQL, f"SELECT * FROM Msvm_ComputerSystem WHERE Name = '{GUID2}'", "vm2", source=S)
ok("cs-by-guid-lower", WQL, f"SELECT * FROM Msvm_ComputerSystem WHERE Name = '{GUID2.lower()}'",
   "vm2")
ok("memory-by-vm", WQL, f"SELECT * FROM Msvm_MemorySettingData WHERE InstanceID LIKE "
   f"'Microsoft:{GUID1}%'", "mem1", source=S)
ok("processor-by-vm", WQL, f"SELECT * FROM Msvm_ProcessorSettingData WHERE InstanceID LIKE "
   f"'Microsoft:{GUID1}%'", "cpu1", source=S)
ok("all-rasd-by-vm", WQL, f"SELECT * FROM CIM_ResourceAllocationSettingData WHERE InstanceID "
   f"LIKE 'Microsoft:{GUID1}%'", *GUID1_RASD, source=S)
ok("msvm-rasd-not-siblings", WQL, f"SELECT * FROM Msvm_ResourceAllocationSettingData WHERE "
   f"InstanceID LIKE 'Microsoft:{GUID1}%'", "ide1", "scsi1", "drive1", "dvd1", "passthru1",
   source=S)
ok("sasd-by-vm", WQL, f"SELECT * FROM Msvm_StorageAllocationSettingData WHERE InstanceID LIKE "
   f"'Microsoft:{GUID1}%'", "vhd1", source=S)
ok("epasd-and-sepsd-by-vm", WQL, f"SELECT * FROM CIM_EthernetPortAllocationSettingData WHERE "
   f"InstanceID LIKE 'Microsoft:{GUID1}%'", "nic1", "port1", source=S)
ok("like-prefix-lower-case", WQL, f"SELECT * FROM Msvm_MemorySettingData WHERE InstanceID LIKE "
   f"'microsoft:{GUID1.lower()}%'", "mem1")

# --- templates ------------------------------------------------------------
ok("template-raw-backslash", WQL, "SELECT * FROM Msvm_ResourceAllocationSettingData WHERE "
   "InstanceID LIKE '%\\Default'", "drivedefault", source=S)
ok("template-escaped-backslash", WQL, "SELECT * FROM Msvm_MemorySettingData WHERE InstanceID "
   "LIKE '%\\\\Default'", "memdefault")
ok("template-with-subtype", WQL, "SELECT * FROM Msvm_ResourceAllocationSettingData WHERE "
   "ResourceSubType = 'Microsoft:Hyper-V:Synthetic Disk Drive' AND InstanceID LIKE '%\\Default'",
   "drivedefault", source=S)
ok("template-cloudstack", WQL, 'SELECT * FROM Msvm_ResourceAllocationSettingData WHERE '
   'ResourceSubType LIKE "Microsoft:Hyper-V:Synthetic Disk Drive" AND InstanceID LIKE "%Default"',
   "drivedefault", source="cloudstack")
ok("template-any-rasd", WQL, "SELECT * FROM CIM_ResourceAllocationSettingData WHERE InstanceID "
   "LIKE '%Default'", "memdefault", "drivedefault")
S = "ms-samples"
ok("pool-primordial", WQL, "select * from Msvm_ResourcePool where ResourceSubType = "
   "'Microsoft:Hyper-V:Memory' and Primordial = True", "pool_mem", source=S)
ok("pool-by-type", WQL, "select * from Msvm_ResourcePool where ResourceType = 31 and "
   "Primordial = True", "pool_vhd", source=S)
ok("pool-by-id", WQL, 'SELECT * FROM CIM_ResourcePool WHERE ResourceType="31" AND '
   'ResourceSubType="Microsoft:Hyper-V:Virtual Hard Disk" AND PoolId="Pool1"', "pool_child",
   source=S)
ok("pool-not-primordial", WQL, "SELECT * FROM Msvm_ResourcePool WHERE Primordial = FALSE",
   "pool_child")
ok("pool-empty-poolid", WQL, "SELECT * FROM Msvm_ResourcePool WHERE PoolID = ''",
   "pool_mem", "pool_vhd")

# --- disks: Parent path text, __PATH ------------------------------------------
S = "os-win"
SLOT = ("SELECT * FROM Msvm_ResourceAllocationSettingData WHERE "
        "(ResourceSubType='Microsoft:Hyper-V:Physical Disk Drive' OR "
        "ResourceSubType='Microsoft:Hyper-V:Synthetic Disk Drive' OR "
        "ResourceSubType='Microsoft:Hyper-V:Synthetic DVD Drive') AND Parent = ")
ok("free-slot-raw-path", WQL, SLOT + raw(IDE1), "drive1", "dvd1", source=S)
ok("free-slot-escaped-path", WQL, SLOT + quoted(IDE1), "drive1", "dvd1", source="ms-samples")
ok("free-slot-no-prefix", WQL, SLOT + quoted(IDE1.split(":", 1)[1]), "drive1", "dvd1")
ok("free-slot-upper-case", WQL, SLOT + quoted(IDE1.upper()), "drive1", "dvd1")
ok("free-slot-dmtf-prefix", WQL, SLOT + quoted(
    f"//{HOST}/{NAMESPACE}:" + IDE1.split(":", 1)[1]), "drive1", "dvd1")
ok("detach-by-path-raw", WQL, "SELECT * FROM Msvm_ResourceAllocationSettingData WHERE __PATH = "
   + raw(IDE1), "ide1", source=S)
ok("detach-by-path-escaped", WQL, "SELECT * FROM Msvm_ResourceAllocationSettingData WHERE "
   "__PATH = " + quoted(IDE1), "ide1")
ok("sasd-parent", WQL, "SELECT * FROM Msvm_StorageAllocationSettingData WHERE Parent = "
   + raw(DRIVE1), "vhd1")
ok("passthrough-disk", WQL, "SELECT * FROM Msvm_DiskDrive WHERE DriveNumber=3", "disk3", source=S)
ok("passthrough-disk-quoted", WQL, "SELECT * FROM Msvm_DiskDrive WHERE DriveNumber='3'", "disk3",
   source="wmi")
ok("passthrough-disk-missing", WQL, "SELECT * FROM Msvm_DiskDrive WHERE DriveNumber=4")

# --- NIC, switch, power, jobs, snapshots ------------------------------------
ok("epasd-by-name", WQL, "SELECT * FROM Msvm_EthernetPortAllocationSettingData WHERE "
   "ElementName='port-1234'", "port1", source=S)
ok("switch-by-name", WQL, "SELECT * FROM Msvm_VirtualEthernetSwitch WHERE "
   "ElementName='External Switch'", "switch1", source=S)
ok("shutdown-component", WQL, f"SELECT * FROM Msvm_ShutdownComponent WHERE SystemName="
   f"'{GUID1}'", "shutdown1", source=S)
ok("affected-job-escaped", WQL, "SELECT * FROM Msvm_AffectedJobElement WHERE AffectedElement="
   + quoted(VM1), "aje1", source="ms-samples")
ok("affected-job-raw", WQL, "SELECT * FROM Msvm_AffectedJobElement WHERE AffectedElement="
   + raw(VM1), "aje1", source=S)
ok("affected-job-keys-swapped", WQL, "SELECT * FROM Msvm_AffectedJobElement WHERE "
   f"AffectedElement='Msvm_ComputerSystem.Name=\"{GUID1}\",CreationClassName="
   "\"Msvm_ComputerSystem\"'", "aje1")
ok("affected-job-lower-case", WQL, "SELECT * FROM Msvm_AffectedJobElement WHERE AffectedElement="
   + quoted(VM1.lower()), "aje1")
ok("affected-job-double-quotes", WQL, "SELECT * FROM Msvm_AffectedJobElement WHERE "
   f'AffectedElement="Msvm_ComputerSystem.CreationClassName=\\"Msvm_ComputerSystem\\",'
   f'Name=\\"{GUID2}\\""', "aje2")
ok("affected-job-other-vm", WQL, "SELECT * FROM Msvm_AffectedJobElement WHERE AffectedElement <> "
   + quoted(VM1), "aje2")
ok("affected-job-by-job", WQL, "SELECT * FROM Msvm_AffectedJobElement WHERE AffectingElement = "
   "'Msvm_ConcreteJob.InstanceID=\"9C4D5E6F-7A8B-4C9D-8E0F-1A2B3C4D5E6F\"'", "aje1")
ok("current-snapshot", WQL, "SELECT * FROM Msvm_MostCurrentSnapshotInBranch WHERE Antecedent="
   + raw(VM1), "mcsib1", source=S)
ok("logical-identity-upper", WQL, "SELECT * FROM Msvm_LogicalIdentity WHERE SystemElement="
   + quoted(DRIVE1.upper()), "identity1", source=S)
ok("logical-identity-raw", WQL, "SELECT * FROM Msvm_LogicalIdentity WHERE SystemElement="
   + raw(DRIVE1), "identity1")
ok("jobs-running", WQL, "SELECT * FROM CIM_ConcreteJob WHERE JobState = 4", "job1")
# Msvm_MigrationJob and Msvm_StorageJob derive from CIM_ConcreteJob, not
# Msvm_ConcreteJob (Microsoft's class reference): only CIM_ConcreteJob
# reaches every job.
ok("jobs-all", WQL, "SELECT * FROM Msvm_ConcreteJob", "job1")
ok("jobs-every-kind", WQL, "SELECT * FROM CIM_ConcreteJob", "job1", "job2")
ok("migration-job", WQL, "SELECT * FROM Msvm_MigrationJob WHERE MigrationType = '32768'", "job2")
ok("service-singleton", WQL, "SELECT * FROM Msvm_VirtualSystemManagementService", "vmms",
   source=S)

# --- the Python wmi module: every value quoted ---------------------------------
S = "wmi"
ok("wmi-migration-type", WQL, "SELECT * FROM Msvm_VirtualSystemMigrationSettingData WHERE "
   "MigrationType = '32770'", "migsd", source=S)
ok("wmi-bool-true", WQL, "SELECT * FROM Msvm_ExternalEthernetPort WHERE "
   "EnabledForVirtualization = 'True'", "ext1", source=S)
ok("wmi-bool-false", WQL, "SELECT * FROM Msvm_ExternalEthernetPort WHERE "
   "EnabledForVirtualization = 'False'", "ext2", source=S)
ok("wmi-state", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState = '2'", "host", "vm1",
   source=S)
ok("wmi-uint64", WQL, "SELECT * FROM Msvm_MemorySettingData WHERE VirtualQuantity = '4096'",
   "mem1", source=S)
ok("wmi-uint64-ontime", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE OnTimeInMilliseconds = "
   "'123456789'", "vm1", source=S)
ok("wmi-double-quoted-apostrophe", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName = "
   "\"it's_50%\"", "vm3", source=S)
ok("wmi-two-conditions", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE Caption = "
   "'Virtual Machine' AND EnabledState = '3'", "vm2", source=S)
ok("wmi-shutdown", WQL, f"SELECT * FROM Msvm_ShutdownComponent WHERE SystemName = '{GUID1}' "
   "AND EnabledState = '2'", "shutdown1", source=S)
ok("wmi-no-where", WQL, "SELECT * FROM Msvm_VirtualEthernetSwitch", "switch1", source=S)
ok("wmi-bool-lower", WQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE "
   "SecureBootEnabled = 'true'", "vssd1")

# --- events (os-win, MS samples) --------------------------------------------------
S = "os-win"
ok("event-state-change", WQL, OSWIN_EVENT, "ev_mod_vm1", "ev_wmi_mod_vm2", source=S)
ok("event-state-change-filtered", WQL, OSWIN_EVENT + " AND (TargetInstance.EnabledState = '2' "
   "OR TargetInstance.EnabledState = '3')", "ev_mod_vm1", "ev_wmi_mod_vm2", source=S)
ok("event-state-change-to-off", WQL, OSWIN_EVENT + " AND TargetInstance.EnabledState = 3")
ok("event-ms-sample", WQL, "select * from __InstanceModificationEvent within 3 where "
   "TargetInstance isa 'Msvm_ComputerSystem' and TargetInstance.EnabledState <> "
   "PreviousInstance.EnabledState", "ev_mod_vm1", "ev_wmi_mod_vm2", source="ms-samples")
ok("event-creation-nic", WQL, "SELECT * FROM __InstanceCreationEvent WITHIN 2 WHERE "
   "TargetInstance ISA 'Msvm_SyntheticEthernetPortSettingData'", "ev_create_nic", source=S)
ok("event-deletion-nic", WQL, "SELECT * FROM __InstanceDeletionEvent WITHIN 2 WHERE "
   "TargetInstance ISA 'Msvm_SyntheticEthernetPortSettingData'", source=S)
ok("event-deletion-vm", WQL, "SELECT * FROM __InstanceDeletionEvent WITHIN 2 WHERE "
   "TargetInstance ISA 'Msvm_ComputerSystem'", "ev_delete_vm3")
ok("event-operation-superclass", WQL, "SELECT * FROM __InstanceOperationEvent WITHIN 5 WHERE "
   "TargetInstance ISA 'CIM_ComputerSystem'", *EVENTS_CS)
ok("event-by-vm-name", WQL, "SELECT * FROM __InstanceModificationEvent WHERE TargetInstance ISA "
   "'Msvm_ComputerSystem' AND TargetInstance.ElementName = 'web01'", "ev_mod_vm1")
ok("event-isa-superclass", WQL, "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE "
   "TargetInstance ISA 'CIM_ResourceAllocationSettingData'", "ev_create_nic")
ok("event-fractional-within", WQL, "SELECT * FROM __InstanceModificationEvent WITHIN 0.5 WHERE "
   "TargetInstance ISA \"Msvm_ComputerSystem\"", "ev_mod_vm1", "ev_mod_vm2_same",
   "ev_wmi_mod_vm2")
ok("event-dmtf-class-in-wql", WQL, "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA "
   "'Msvm_ComputerSystem' AND SourceInstance.EnabledState = 2", "ev_mod_vm1", "ev_wmi_mod_vm2")
S = "dsp0202"
ok("cql-indication-filter", CQL, "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA "
   "CIM_ComputerSystem AND SourceInstance.EnabledState <> PreviousInstance.EnabledState",
   "ev_mod_vm1", "ev_wmi_mod_vm2", source=S)
ok("cql-indication-creation", CQL, "SELECT * FROM CIM_InstCreation WHERE SourceInstance ISA "
   "Msvm_SyntheticEthernetPortSettingData", "ev_create_nic", source=S)
ok("cql-indication-any", CQL, "SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA "
   "'Msvm_ComputerSystem'", *EVENTS_CS)
ok("cql-embedded-name", CQL, "SELECT SourceInstance.ElementName FROM CIM_InstModification WHERE "
   "SourceInstance.ElementName = 'db-02'", "ev_mod_vm2_same", "ev_wmi_mod_vm2")
ok("cql-embedded-class", CQL, "SELECT * FROM CIM_InstDeletion WHERE "
   "CLASSNAME(SourceInstance) = 'Msvm_ComputerSystem'", "ev_delete_vm3")
