"""The query table: text as real clients send it, with the expected result.

Each case is evaluated against every instance of `model.MODEL` (FROM
polymorphism included) and must select exactly `selects`, or must fail
with CIMError `error` whose message contains `message`. Cases with
`selects=None` and no error are parse checks (ASSOCIATORS OF, REFERENCES
OF, schema queries) whose parsed attributes are compared with `fields`.

Sources: msvm-v2.md §5 (os-win, MS samples, CloudStack), the Python `wmi`
module (every value quoted), DSP0202 for CQL, and edge cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from pywbem import CIMClassName, CIMInstanceName

from .model import GUID1, GUID2, HOST, MODEL, NAMESPACE, path_text

WQL, CQL = "WQL", "DMTF:CQL"
INVALID_QUERY, LANGUAGE_NOT_SUPPORTED = 15, 14


@dataclass(frozen=True)
class Case:
    id: str
    language: str
    text: str
    selects: frozenset[str] | None = None
    error: int | None = None
    message: str | None = None
    fields: Mapping[str, object] = field(default_factory=dict)
    source: str = "edge"


CASES: list[Case] = []


def ok(id: str, language: str, text: str, *labels: str, source: str = "edge") -> None:
    CASES.append(Case(id, language, text, frozenset(labels), source=source))


def err(id: str, language: str, text: str, message: str, error: int = INVALID_QUERY) -> None:
    CASES.append(Case(id, language, text, error=error, message=message))


def parsed(id: str, language: str, text: str, source: str = "edge", **fields: object) -> None:
    CASES.append(Case(id, language, text, fields=fields, source=source))


def quoted(text: str) -> str:
    """A WQL literal escaped the MS-samples way (`\\` -> `\\\\`, `'` -> `\\'`)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def raw(text: str) -> str:
    """A WQL literal built the os-win way: path text pasted between quotes."""
    return "'" + text + "'"


CS = ("host", "vm1", "vm2", "vm3")
VM1, IDE1, DRIVE1 = (path_text(MODEL[label]) for label in ("vm1", "ide1", "drive1"))
GUID1_RASD = ("mem1", "cpu1", "ide1", "scsi1", "drive1", "dvd1", "passthru1", "vhd1",
              "nic1", "port1")
EVENTS_CS = ("ev_mod_vm1", "ev_mod_vm2_same", "ev_delete_vm3", "ev_wmi_mod_vm2")

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
ok("jobs-all", WQL, "SELECT * FROM Msvm_ConcreteJob", "job1", "job2")
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
OSWIN_EVENT = ("SELECT EnabledState, TargetInstance FROM __InstanceModificationEvent WITHIN 60 "
               "WHERE TargetInstance ISA 'Msvm_ComputerSystem' AND "
               "TargetInstance.EnabledState != PreviousInstance.EnabledState")
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

# --- WQL edge cases: comparisons, NULL, booleans, LIKE, system properties --------
ok("no-where", WQL, "SELECT Name FROM Msvm_ComputerSystem", *CS)
ok("polymorphic-from", WQL, "SELECT * FROM CIM_ComputerSystem", *CS, "switch1")
ok("class-name-case", WQL, "SELECT * FROM MSVM_ComputerSystem WHERE EnabledState = 3", "vm2")
ok("class-name-case-cim", WQL, "SELECT * FROM Cim_ResourceAllocationSettingData WHERE "
   "ResourceType = 4", "mem1", "mem2", "memdefault")
ok("keyword-case", WQL, "SeLeCt * FrOm Msvm_ComputerSystem wHeRe ElementName = 'db-02'", "vm2")
ok("property-name-case", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE elementname = 'db-02'",
   "vm2")
ok("whitespace", WQL, "SELECT\t*\nFROM\r\n  Msvm_ComputerSystem\n WHERE\tEnabledState=3  ", "vm2")
ok("not-equal-angle", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState <> 2",
   "vm2", "vm3")
ok("not-equal-bang", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState != 2",
   "vm2", "vm3")
ok("greater", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState > 2", "vm2", "vm3")
ok("greater-equal", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState >= 3",
   "vm2", "vm3")
ok("less", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState < 3", "host", "vm1")
ok("less-equal-quoted", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState <= '3'",
   "host", "vm1", "vm2")
ok("literal-on-left", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE '3' = EnabledState", "vm2")
ok("number-on-left", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE 32769 = EnabledState", "vm3")
ok("float-equals-int", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState = 3.0", "vm2")
ok("hex-number", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState = 0x8001", "vm3")
ok("negative-number", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState > -1", *CS)
ok("uint64-string-greater", WQL, "SELECT * FROM Msvm_MemorySettingData WHERE VirtualQuantity > "
   "'2048'", "mem1", "mem2")
ok("uint64-number-greater-equal", WQL, "SELECT * FROM Msvm_MemorySettingData WHERE "
   "VirtualQuantity >= 8192", "mem2")
ok("string-vs-number", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName = 5")
ok("string-order", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName < 'E'", "vm2")
ok("string-order-case-insensitive", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE "
   "ElementName >= 'w'", "host", "vm1")
ok("and-binds-tighter", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState = 3 OR "
   "EnabledState = 32769 AND ElementName = 'web01'", "vm2")
ok("parentheses", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE (EnabledState = 3 OR "
   "EnabledState = 32769) AND ElementName LIKE 'db%'", "vm2")
ok("deep-parentheses", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ((((ElementName = "
   "'web01'))))", "vm1")
ok("not", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE NOT EnabledState = 2", "vm2", "vm3")
ok("not-not", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE NOT NOT EnabledState = 2",
   "host", "vm1")
ok("not-parenthesised-or", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE NOT (EnabledState = 2 "
   "OR EnabledState = 3)", "vm3")
ok("is-null", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE Description IS NULL", "vm3")
ok("is-not-null", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE Description IS NOT NULL",
   "host", "vm1", "vm2")
ok("absent-property-is-null", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE InstallDate IS NULL",
   "host", "vm3")
ok("equals-null-never", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE Description = NULL")
ok("null-not-unequal", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE Description <> 'x'",
   "host", "vm1", "vm2")
ok("not-of-unknown", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE NOT (Description = 'x')",
   "host", "vm1", "vm2")
ok("unknown-or-true", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE Description = 'x' OR "
   "EnabledState = 32769", "vm3")
ok("bool-true-keyword", WQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE "
   "SecureBootEnabled = TRUE", "vssd1")
ok("bool-false-keyword", WQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE "
   "SecureBootEnabled = false", "vssd2")
ok("bool-not-equal", WQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE "
   "SecureBootEnabled <> TRUE", "vssd2")
ok("bool-as-number", WQL, "SELECT * FROM Msvm_MemorySettingData WHERE DynamicMemoryEnabled = 1",
   "mem1")
ok("like-prefix", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName LIKE 'web%'", "vm1")
ok("like-case-insensitive", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName LIKE "
   "'WEB%'", "vm1")
ok("like-underscore", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName LIKE '_eb01'",
   "vm1")
ok("like-suffix-any-char", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName LIKE '%0_'",
   "vm1", "vm2", "vm3")
ok("like-set", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName LIKE '[a-d]%'", "vm2")
ok("like-negated-set", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName LIKE '[^a-d]%'",
   "host", "vm1", "vm3")
ok("like-literal-wildcards", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName LIKE "
   "'it\\'s[_]50[%]'", "vm3")
ok("like-ends-with-percent", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName LIKE "
   "'%[%]'", "vm3")
ok("like-contains", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName LIKE '%-%'",
   "host", "vm2")
ok("not-like", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName NOT LIKE 'web%'",
   "host", "vm2", "vm3")
ok("not-prefix-like", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE NOT ElementName LIKE 'web%'",
   "host", "vm2", "vm3")
ok("like-number", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState LIKE '327%'", "vm3")
ok("like-null", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE Description LIKE '%'",
   "host", "vm1", "vm2")
ok("string-escaped-backslashes", WQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE "
   "ConfigurationDataRoot = 'C:\\\\ProgramData\\\\Microsoft\\\\Windows\\\\Hyper-V'", "vssd1")
ok("string-raw-backslashes", WQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE "
   "ConfigurationDataRoot = 'C:\\ProgramData\\Microsoft\\Windows\\Hyper-V'", "vssd1")
ok("datetime-after", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE InstallDate > "
   "'20240101000000.000000+000'", "vm1")
ok("datetime-equal", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE InstallDate = "
   "'20230101080000.000000+000'", "vm2")
ok("array-vs-scalar", WQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE Notes = "
   "'web server'")
ok("isa-this", WQL, "SELECT * FROM CIM_ResourceAllocationSettingData WHERE __THIS ISA "
   "'Msvm_MemorySettingData'", "mem1", "mem2", "memdefault")
ok("isa-this-superclass", WQL, "SELECT * FROM CIM_ResourceAllocationSettingData WHERE __THIS "
   "ISA 'CIM_EthernetPortAllocationSettingData'", "nic1", "port1")
ok("system-class", WQL, "SELECT * FROM CIM_ComputerSystem WHERE __CLASS = 'msvm_computersystem'",
   *CS)
ok("system-relpath", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE __RELPATH = "
   f"'Msvm_ComputerSystem.CreationClassName=\"Msvm_ComputerSystem\",Name=\"{GUID1}\"'", "vm1")
ok("system-path-dmtf-form", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE __PATH = "
   f"'//{HOST}/{NAMESPACE}:Msvm_ComputerSystem.Name=\"{GUID2}\","
   "CreationClassName=\"Msvm_ComputerSystem\"'", "vm2")
ok("system-path-not-equal", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE __PATH <> "
   + quoted(VM1), "host", "vm2", "vm3")
ok("system-path-other-namespace", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE __PATH = "
   + quoted(VM1.replace("virtualization\\v2", "cimv2")))
ok("system-namespace", WQL, "SELECT * FROM Msvm_VirtualEthernetSwitch WHERE __NAMESPACE = "
   "'root\\\\virtualization\\\\v2'", "switch1")
ok("system-server", WQL, "SELECT * FROM Msvm_VirtualEthernetSwitch WHERE __SERVER = 'win-host'",
   "switch1")
ok("system-class-isa", WQL, "SELECT * FROM CIM_EnabledLogicalElement WHERE __CLASS = "
   "'Msvm_ShutdownComponent'", "shutdown1")

# --- WQL statements parsed only ----------------------------------------------------
S = "os-win"
parsed("associators-settings", WQL, "ASSOCIATORS OF {Msvm_ComputerSystem.CreationClassName="
       f"\"Msvm_ComputerSystem\",Name=\"{GUID1}\"}} WHERE AssocClass = Msvm_SettingsDefineState "
       "ResultClass = Msvm_VirtualSystemSettingData", source=S,
       object_path=CIMInstanceName("Msvm_ComputerSystem", keybindings={
           "CreationClassName": "Msvm_ComputerSystem", "Name": GUID1}),
       assoc_class="Msvm_SettingsDefineState", result_class="Msvm_VirtualSystemSettingData",
       role=None, keys_only=False)
parsed("associators-raw-backslashes", WQL, "ASSOCIATORS OF {Msvm_VirtualSystemSettingData."
       f"InstanceID=\"Microsoft:{GUID1}\\0\"}} WHERE AssocClass = "
       "Msvm_VirtualSystemSettingDataComponent ResultClass = Msvm_ProcessorSettingData",
       source=S, object_path=CIMInstanceName("Msvm_VirtualSystemSettingData", keybindings={
           "InstanceID": f"Microsoft:{GUID1}\\0"}))
parsed("associators-escaped-backslashes", WQL, "ASSOCIATORS OF {Msvm_VirtualSystemSettingData."
       f"InstanceID=\"Microsoft:{GUID1}\\\\0\"}}",
       object_path=CIMInstanceName("Msvm_VirtualSystemSettingData", keybindings={
           "InstanceID": f"Microsoft:{GUID1}\\0"}))
parsed("associators-script", WQL, "Associators of {" + VM1 + "} Where "
       "AssocClass=Msvm_SystemDevice ResultClass=Msvm_KvpExchangeComponent", source="ms-samples",
       object_path=MODEL["vm1"].path, assoc_class="Msvm_SystemDevice",
       result_class="Msvm_KvpExchangeComponent")
parsed("associators-dmtf-prefix", WQL, f"ASSOCIATORS OF {{//{HOST}/{NAMESPACE}:"
       f"Msvm_ComputerSystem.CreationClassName=\"Msvm_ComputerSystem\",Name=\"{GUID1}\"}}",
       object_path=MODEL["vm1"].path)
parsed("associators-all-options", WQL, "ASSOCIATORS OF {Msvm_ComputerSystem.Name=\"x\","
       "CreationClassName=\"Msvm_ComputerSystem\"} WHERE AssocClass = A Role = GroupComponent "
       "ResultRole = PartComponent RequiredQualifier = Q1 RequiredAssocQualifier = Q2 "
       "KeysOnly SchemaOnly", assoc_class="A", role="GroupComponent",
       result_role="PartComponent", required_qualifier="Q1", required_assoc_qualifier="Q2",
       keys_only=True, schema_only=True, class_defs_only=False)
parsed("associators-classdefsonly", WQL, "ASSOCIATORS OF {Msvm_ComputerSystem=@} WHERE "
       "ClassDefsOnly", class_defs_only=True,
       object_path=CIMInstanceName("Msvm_ComputerSystem"))
parsed("associators-quoted-option", WQL, "associators of {Msvm_ComputerSystem."
       "Name='x'} where resultclass = 'Msvm_Memory'", result_class="Msvm_Memory",
       object_path=CIMInstanceName("Msvm_ComputerSystem", keybindings={"Name": "x"}))
parsed("associators-class-path", WQL, "ASSOCIATORS OF {Msvm_ComputerSystem} WHERE "
       "SchemaOnly", object_path=CIMClassName("Msvm_ComputerSystem"), schema_only=True)
parsed("associators-numeric-key", WQL, "ASSOCIATORS OF {Msvm_DiskDrive.DriveNumber=3,"
       "Removable=FALSE}", object_path=CIMInstanceName(
           "Msvm_DiskDrive", keybindings={"DriveNumber": 3, "Removable": False}))
parsed("references-plain", WQL, "REFERENCES OF {" + VM1 + "}", object_path=MODEL["vm1"].path,
       result_class=None)
parsed("references-options", WQL, "REFERENCES OF {" + VM1 + "} WHERE ResultClass = "
       "Msvm_AffectedJobElement Role = AffectedElement KeysOnly",
       result_class="Msvm_AffectedJobElement", role="AffectedElement", keys_only=True)
parsed("references-classdefsonly", WQL, "references of {Msvm_ConcreteJob.InstanceID=\"J\"} "
       "where classdefsonly requiredqualifier = Association", class_defs_only=True,
       required_qualifier="Association")
parsed("schema-query", WQL, "SELECT * FROM meta_class WHERE __THIS ISA 'Msvm_ComputerSystem'",
       is_schema_query=True, from_class="meta_class")
parsed("event-attributes", WQL, OSWIN_EVENT, within=60.0,
       event_class="__InstanceModificationEvent", target_class="Msvm_ComputerSystem",
       indication_class="CIM_InstModification", target_property="TargetInstance")
parsed("event-operation-attributes", WQL, "SELECT * FROM __InstanceOperationEvent WITHIN 1.5 "
       "WHERE TargetInstance ISA 'Msvm_ComputerSystem'", within=1.5,
       indication_class="CIM_InstIndication")
parsed("cql-indication-attributes", CQL, "SELECT * FROM CIM_InstCreation WHERE SourceInstance "
       "ISA CIM_ComputerSystem", event_class="CIM_InstCreation", target_class="CIM_ComputerSystem",
       indication_class="CIM_InstCreation", target_property="SourceInstance", within=None)
parsed("not-an-event", WQL, "SELECT * FROM Msvm_ComputerSystem", event_class=None,
       target_class=None, is_event_query=False, within=None)

# --- DMTF:CQL -----------------------------------------------------------------
S = "dsp0202"
ok("cql-basic", CQL, "SELECT * FROM CIM_ComputerSystem WHERE ElementName = 'web01'", "vm1",
   source=S)
ok("cql-case-sensitive", CQL, "SELECT * FROM CIM_ComputerSystem WHERE ElementName = 'WEB01'",
   source=S)
ok("cql-uppercase", CQL, "SELECT * FROM CIM_ComputerSystem WHERE UPPERCASE(ElementName) = "
   "'WEB01'", "vm1", source=S)
ok("cql-lowercase", CQL, "SELECT * FROM CIM_ComputerSystem WHERE LOWERCASE(ElementName) = "
   "'win-host'", "host")
ok("cql-alias", CQL, "SELECT cs.Name FROM CIM_ComputerSystem AS cs WHERE cs.EnabledState = 2",
   "host", "vm1", source=S)
ok("cql-alias-without-as", CQL, "SELECT cs.* FROM Msvm_ComputerSystem cs WHERE "
   "cs.ElementName = 'db-02'", "vm2")
ok("cql-class-qualified", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE "
   "Msvm_ComputerSystem.ElementName = 'db-02'", "vm2")
ok("cql-numbers-quoted", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState = '3'", "vm2")
ok("cql-boolean", CQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE SecureBootEnabled = "
   "TRUE", "vssd1")
ok("cql-boolean-property", CQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE "
   "SecureBootEnabled", "vssd1")
ok("cql-not-boolean-property", CQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE NOT "
   "SecureBootEnabled", "vssd2")
ok("cql-is-null", CQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE Notes IS NULL", "snap1")
ok("cql-like-regex-star", CQL, "SELECT * FROM CIM_ComputerSystem WHERE ElementName LIKE 'web.*'",
   "vm1", source=S)
ok("cql-like-regex-set", CQL, "SELECT * FROM CIM_ComputerSystem WHERE ElementName LIKE "
   "'w.b0[0-9]'", "vm1")
ok("cql-like-percent-literal", CQL, "SELECT * FROM CIM_ComputerSystem WHERE ElementName LIKE "
   "'web%'")
ok("cql-like-doubled-quote", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName LIKE "
   "'it''s_50%'", "vm3")
ok("cql-like-contains", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName LIKE '.*-.*'",
   "host", "vm2")
ok("cql-like-escaped-dot", CQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE Version LIKE "
   "'9\\\\.0'", "vssd1")
ok("cql-not-like", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName NOT LIKE '.*0.*'",
   "host")
ok("cql-arith-plus", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState + 1 = 3",
   "host", "vm1", source=S)
ok("cql-arith-divide", CQL, "SELECT * FROM Msvm_MemorySettingData WHERE VirtualQuantity / 1024 "
   "= 4", "mem1")
ok("cql-arith-precedence", CQL, "SELECT * FROM Msvm_MemorySettingData WHERE 1 + VirtualQuantity "
   "* 2 > 10000", "mem2")
ok("cql-arith-parentheses", CQL, "SELECT * FROM Msvm_MemorySettingData WHERE (Reservation + "
   "VirtualQuantity) / 2 = 3072", "mem1")
ok("cql-arith-negate", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE -EnabledState = -3", "vm2")
ok("cql-arith-null", CQL, "SELECT * FROM Msvm_MemorySettingData WHERE Reservation - 1 > 0",
   "mem1", "mem2")
ok("cql-arith-divide-by-zero", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState / 0 "
   "= 1")
ok("cql-concat", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName || '!' = 'web01!'",
   "vm1", source=S)
ok("cql-in", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState IN (3, 32769)",
   "vm2", "vm3", source=S)
ok("cql-not-in", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState NOT IN (3, 32769)",
   "host", "vm1")
ok("cql-in-strings", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName IN ('web01', "
   "'db-02')", "vm1", "vm2")
ok("cql-index", CQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE Notes[0] = 'web server'",
   "vssd1", source=S)
ok("cql-index-out-of-range", CQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE Notes[5] "
   "IS NULL", "vssd1", "vssd2", "snap1")
ok("cql-any", CQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE ANY n IN Notes "
   "SATISFIES (n LIKE 'web.*')", "vssd1", source=S)
ok("cql-every", CQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE EVERY n IN Notes "
   "SATISFIES (n = 'x')", "vssd2", source=S)
ok("cql-any-host-resource", CQL, "SELECT * FROM CIM_ResourceAllocationSettingData WHERE ANY h "
   "IN HostResource SATISFIES (h LIKE '.*web01\\.vhdx')", "vhd1")
ok("cql-isa-identifier", CQL, "SELECT * FROM CIM_ResourceAllocationSettingData AS r WHERE r ISA "
   "Msvm_MemorySettingData", "mem1", "mem2", "memdefault")
ok("cql-classname", CQL, "SELECT * FROM CIM_ResourceAllocationSettingData WHERE CLASSNAME() = "
   "'Msvm_ProcessorSettingData'", "cpu1", source=S)
ok("cql-stringtouint", CQL, "SELECT * FROM Msvm_ResourceAllocationSettingData WHERE "
   "STRINGTOUINT(AddressOnParent) = 1", "dvd1", source=S)
ok("cql-stringtosint", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE STRINGTOSINT('-5') = -5 "
   "AND EnabledState = 3", "vm2")
ok("cql-stringtoreal", CQL, "SELECT * FROM Msvm_VirtualSystemSettingData WHERE "
   "STRINGTOREAL(Version) > 8.5", "vssd1")
ok("cql-numerictostring", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE "
   "NUMERICTOSTRING(EnabledState) = '32769'", "vm3", source=S)
ok("cql-referencetostring", CQL, "SELECT * FROM Msvm_AffectedJobElement WHERE "
   f"REFERENCETOSTRING(AffectedElement) LIKE '.*{GUID1}.*'", "aje1", source=S)
ok("cql-objectpath", CQL, f"SELECT * FROM Msvm_ComputerSystem WHERE OBJECTPATH() LIKE "
   f"'.*{GUID2}.*'", "vm2", source=S)
ok("cql-namespacename", CQL, "SELECT * FROM Msvm_VirtualEthernetSwitch WHERE NAMESPACENAME() = "
   "'root/virtualization/v2'", "switch1", source=S)
ok("cql-datetime", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE "
   "DATETIMETOMICROSECOND(InstallDate) > DATETIMETOMICROSECOND("
   "DATETIME('20240101000000.000000+000'))", "vm1", source=S)
ok("cql-currentdatetime", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE InstallDate < "
   "CURRENTDATETIME()", "vm1", "vm2", source=S)
ok("cql-reference-path", CQL, "SELECT * FROM Msvm_AffectedJobElement WHERE AffectedElement = "
   + quoted(VM1), "aje1")
ok("cql-embedded-reference-key", CQL, "SELECT * FROM Msvm_AffectedJobElement WHERE "
   "AffectedElement.Name = '" + GUID2 + "'", "aje2")
ok("cql-hex", CQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState = 0x8001", "vm3")
ok("cql-real", CQL, "SELECT * FROM Msvm_MemorySettingData WHERE VirtualQuantity > 4.5e3", "mem2")
ok("cql-distinct-order", CQL, "SELECT DISTINCT Caption FROM Msvm_ComputerSystem WHERE "
   "EnabledState <> 5 ORDER BY Caption DESC", *CS)
ok("cql-keywords-case", CQL, "select * from msvm_computersystem where enabledstate in (2) "
   "and not elementname like 'w.*'", "host")

# --- errors ---------------------------------------------------------------------
err("unterminated-single", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE ElementName = 'web01",
    "unterminated string starting at column 55")
err("unterminated-double", WQL, 'SELECT * FROM Msvm_ComputerSystem WHERE ElementName = "web01',
    "unterminated string")
err("unterminated-cql", CQL, "SELECT * FROM X WHERE a = 'it''s", "unterminated string")
err("unknown-keyword", WQL, "SELECT * FROM Msvm_ComputerSystem WHERE EnabledState = 2 LIMIT 5",
    "unexpected 'LIMIT' at column 58")
err("top-keyword", WQL, "SELECT TOP 5 * FROM Msvm_ComputerSystem", "unexpected '5'")
err("misspelt-from", WQL, "SELECT * FORM Msvm_ComputerSystem", "unexpected 'FORM' at column 10")
err("missing-class", WQL, "SELECT * FROM", "unexpected end of query")
err("missing-where-condition", WQL, "SELECT * FROM X WHERE", "unexpected end of query")
err("trailing-and", WQL, "SELECT * FROM X WHERE a = 1 AND", "unexpected end of query")
err("double-operator", WQL, "SELECT * FROM X WHERE a = = 1", "unexpected '=' at column 27")
err("like-without-pattern", WQL, "SELECT * FROM X WHERE a LIKE", "unexpected end of query")
err("unbalanced-open", WQL, "SELECT * FROM X WHERE (a = 1", "unexpected end of query")
err("unbalanced-close", WQL, "SELECT * FROM X WHERE a = 1)", "unexpected ')' at column 28")
err("bad-character", WQL, "SELECT * FROM X WHERE a = #1", "unexpected character '#' at column 27")
err("semicolon", WQL, "SELECT * FROM X;", "unexpected character ';' at column 16")
err("wql-doubled-quote", WQL, "SELECT * FROM X WHERE a = 'it''s'", "unexpected")
err("wql-arithmetic", WQL, "SELECT * FROM X WHERE a + 1 = 2", "unexpected character '+'")
err("wql-function", WQL, "SELECT * FROM X WHERE UPPERCASE(a) = 'A'", "unexpected '('")
err("wql-group-within", WQL, "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE "
    "TargetInstance ISA 'X' GROUP WITHIN 10", "unexpected 'GROUP'")
err("wql-in-list", WQL, "SELECT * FROM X WHERE a IN (1, 2)", "unexpected 'IN'")
err("wql-distinct", WQL, "SELECT DISTINCT a FROM X", "unexpected 'a'")
err("wql-order-by", WQL, "SELECT * FROM X ORDER BY a", "unexpected 'ORDER'")
err("two-classes", WQL, "SELECT * FROM A, B", "unexpected ','")
err("empty", WQL, "", "empty")
err("blank", WQL, "   \n\t ", "empty")
err("isa-needs-class", WQL, "SELECT * FROM X WHERE a ISA 5", "unexpected '5'")
err("within-needs-number", WQL, "SELECT * FROM __InstanceCreationEvent WITHIN x",
    "unexpected 'x'")
err("associators-no-braces", WQL, "ASSOCIATORS OF Msvm_ComputerSystem.Name=\"x\"",
    "unexpected 'Msvm_ComputerSystem' at column 16; expected {object path}")
err("associators-unterminated-path", WQL, "ASSOCIATORS OF {Msvm_ComputerSystem.Name=\"x\"",
    "unterminated object path")
err("associators-bad-path", WQL, "ASSOCIATORS OF {Msvm_ComputerSystem.Name=}",
    "invalid object path")
err("associators-bad-path-separator", WQL, "ASSOCIATORS OF {Msvm_ComputerSystem.A=1;B=2}",
    "invalid object path")
err("associators-missing-of", WQL, "ASSOCIATORS {Msvm_ComputerSystem=@}", "unexpected")
err("associators-exclusive", WQL, "ASSOCIATORS OF {X=@} WHERE ClassDefsOnly ResultClass = Y",
    "ClassDefsOnly and ResultClass cannot be combined")
err("associators-duplicate", WQL, "ASSOCIATORS OF {X=@} WHERE Role = A Role = B",
    "Role is given twice")
err("associators-unknown-option", WQL, "ASSOCIATORS OF {X=@} WHERE Foo = Bar", "unexpected 'Foo'")
err("associators-empty-where", WQL, "ASSOCIATORS OF {X=@} WHERE", "unexpected end of query")
err("references-assoc-class", WQL, "REFERENCES OF {X=@} WHERE AssocClass = A",
    "REFERENCES OF does not take AssocClass")
err("references-result-role", WQL, "REFERENCES OF {X=@} WHERE ResultRole = A",
    "REFERENCES OF does not take ResultRole")
err("cql-unknown-function", CQL, "SELECT * FROM X WHERE SUBSTRING(a) = 'b'",
    "unknown function SUBSTRING() at column 23")
err("cql-arity", CQL, "SELECT * FROM X WHERE UPPERCASE(a, b) = 'A'",
    "UPPERCASE() takes 1 arguments, not 2")
err("cql-aggregate", CQL, "SELECT * FROM X WHERE COUNT(a) > 1", "unknown function COUNT()")
err("cql-associators", CQL, "ASSOCIATORS OF {X=@}", "unexpected 'ASSOCIATORS' at column 1")
err("cql-join", CQL, "SELECT * FROM A, B", "unexpected ','")
err("cql-select-expression", CQL, "SELECT a + 1 FROM X", "unexpected '+' at column 10")
err("cql-select-function", CQL, "SELECT UPPERCASE(a) FROM X", "names properties")
err("cql-group-by", CQL, "SELECT * FROM X GROUP BY a", "unexpected 'BY'")
err("cql-within", CQL, "SELECT * FROM CIM_InstCreation WITHIN 5", "unexpected '5'")
err("cql-satisfies-needs-parentheses", CQL, "SELECT * FROM X WHERE ANY x IN a SATISFIES x = 1",
    "unexpected 'x'")
err("unknown-language", "SQL", "SELECT * FROM X", "'SQL' is not supported",
    LANGUAGE_NOT_SUPPORTED)
err("unknown-language-empty", "", "SELECT * FROM X", "not supported", LANGUAGE_NOT_SUPPORTED)
err("unknown-language-cql2", "DMTF:CQL2", "SELECT * FROM X", "not supported",
    LANGUAGE_NOT_SUPPORTED)
ok("language-lower-case", "wql", "SELECT * FROM Msvm_DiskDrive", "disk3")
ok("language-cql-alias", "CQL", "SELECT * FROM Msvm_DiskDrive", "disk3")
ok("language-cql-lower", "dmtf:cql", "SELECT * FROM Msvm_DiskDrive", "disk3")

CASES_BY_ID = {case.id: case for case in CASES}
assert len(CASES_BY_ID) == len(CASES), "case ids must be unique"
