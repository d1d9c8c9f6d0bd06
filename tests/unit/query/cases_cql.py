"""DMTF:CQL: DSP0202 functions, arrays, arithmetic, regular-expression LIKE."""

from __future__ import annotations

from .case_table import CQL, CS, VM1, ok, quoted
from .model import GUID1, GUID2

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
