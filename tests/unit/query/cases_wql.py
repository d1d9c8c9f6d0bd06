"""WQL edge cases, and the statements checked by their parsed fields."""

from __future__ import annotations

from pywbem import CIMClassName, CIMInstanceName

from .case_table import CQL, CS, OSWIN_EVENT, VM1, WQL, ok, parsed, quoted, raw
from .model import GUID1, GUID2, HOST, MODEL, NAMESPACE

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
