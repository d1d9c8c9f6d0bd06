"""Valid inputs the fuzzer starts from: request bodies exactly as pywbem
writes them for every kind of operation, and queries as clients write them.

pywbem hands each finished request to `wbem_request`; replacing that one
function lets us keep the bytes without a server or a socket.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pywbem
import pywbem._cim_operations as cim_operations
from pywbem import CIMClassName, CIMInstance, CIMInstanceName, Uint16, Uint32

NS = "root/virtualization/v2"
VM = CIMInstanceName("Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem",
                                             "Name": "6B0E2A4C-1D2E-4F00-8A9B-0C1D2E3F4A5B"},
                     namespace=NS)
SERVICE = CIMInstanceName("Msvm_VirtualSystemManagementService",
                          {"CreationClassName": "Msvm_VirtualSystemManagementService",
                           "Name": "vmms", "SystemCreationClassName": "Msvm_ComputerSystem",
                           "SystemName": "HOST"}, namespace=NS)
SETTINGS = CIMInstance("Msvm_VirtualSystemSettingData",
                       properties={"ElementName": "web <1> & \"two\"", "VirtualSystemSubType":
                                   "Microsoft:Hyper-V:SubType:2", "Notes": ["a", "b"]})
MEMORY = CIMInstance("Msvm_MemorySettingData", properties={
    "InstanceID": "Microsoft:6B0E2A4C\\4764334D-E001-4176-82EE-5594EC9B530E\\0",
    "VirtualQuantity": pywbem.Uint64(2048), "DynamicMemoryEnabled": True})


class _Captured(Exception):
    pass


def _capture(operation: Callable[[pywbem.WBEMConnection], Any]) -> bytes:
    bodies: list[bytes] = []

    def keep(conn: Any, req_data: Any, *args: Any, **kwargs: Any) -> Any:
        bodies.append(req_data.encode() if isinstance(req_data, str) else req_data)
        raise _Captured()

    original = cim_operations.wbem_request
    cim_operations.wbem_request = keep
    try:
        operation(pywbem.WBEMConnection("http://fuzz.invalid", default_namespace=NS))
    except _Captured:
        pass
    finally:
        cim_operations.wbem_request = original
    return bodies[0]


OPERATIONS: list[Callable[[pywbem.WBEMConnection], Any]] = [
    lambda c: c.EnumerateInstances("Msvm_ComputerSystem", PropertyList=["Name", "EnabledState"]),
    lambda c: c.EnumerateInstanceNames("Msvm_ComputerSystem"),
    lambda c: c.GetInstance(VM, LocalOnly=False, IncludeQualifiers=True),
    lambda c: c.Associators(VM, AssocClass="Msvm_SettingsDefineState", ResultRole="SettingData"),
    lambda c: c.References(VM, ResultClass="Msvm_SystemDevice"),
    lambda c: c.AssociatorNames(CIMClassName("Msvm_ComputerSystem", namespace=NS)),
    lambda c: c.ExecQuery("WQL", "SELECT * FROM Msvm_ComputerSystem WHERE ElementName LIKE 'w%'"),
    lambda c: c.InvokeMethod("RequestStateChange", VM, RequestedState=Uint16(2)),
    lambda c: c.InvokeMethod("DefineSystem", SERVICE, SystemSettings=SETTINGS.tocimxmlstr(),
                             ResourceSettings=[MEMORY.tocimxmlstr()], ReferenceConfiguration=VM),
    lambda c: c.InvokeMethod("GetSummaryInformation", SERVICE,
                             RequestedInformation=[Uint32(1), Uint32(101)], SettingData=[VM]),
    lambda c: c.OpenEnumerateInstances("Msvm_ComputerSystem", MaxObjectCount=Uint32(100),
                                       FilterQueryLanguage="DMTF:FQL", FilterQuery="EnabledState=2"),
    lambda c: c.PullInstancesWithPath(("ctx-1", NS), MaxObjectCount=Uint32(100)),
    lambda c: c.OpenAssociatorInstances(VM, ResultClass="CIM_ResourceAllocationSettingData"),
    lambda c: c.CreateInstance(CIMInstance("CIM_IndicationFilter", properties={
        "Name": "f", "Query": "SELECT * FROM CIM_InstModification", "QueryLanguage": "WQL"})),
    lambda c: c.ModifyInstance(CIMInstance("Msvm_MemorySettingData", path=CIMInstanceName(
        "Msvm_MemorySettingData", {"InstanceID": "Microsoft:x"}, namespace=NS),
        properties={"VirtualQuantity": pywbem.Uint64(4096)}), PropertyList=["VirtualQuantity"]),
    lambda c: c.DeleteInstance(VM),
    lambda c: c.GetClass("Msvm_ComputerSystem", LocalOnly=False, IncludeQualifiers=True),
    lambda c: c.EnumerateClassNames(DeepInheritance=True),
    lambda c: c.GetQualifier("Key"),
    lambda c: c.CloseEnumeration(("ctx-1", NS)),
]


def request_seeds() -> list[bytes]:
    return [_capture(operation) for operation in OPERATIONS]


QUERY_SEEDS: list[tuple[str, str]] = [
    ("WQL", "SELECT * FROM Msvm_ComputerSystem WHERE ElementName = 'web'"),
    ("WQL", "SELECT Name, EnabledState FROM Msvm_ComputerSystem WHERE EnabledState <> 3 AND "
            "(ElementName LIKE 'db-%' OR Name IN ('A', 'B'))"),
    ("WQL", "SELECT * FROM Msvm_MemorySettingData WHERE InstanceID LIKE 'Microsoft:ABC\\\\%'"),
    ("WQL", "ASSOCIATORS OF {Msvm_ComputerSystem.CreationClassName=\"Msvm_ComputerSystem\","
            "Name=\"X\"} WHERE AssocClass = Msvm_SettingsDefineState ResultClass = "
            "Msvm_VirtualSystemSettingData"),
    ("WQL", "REFERENCES OF {Msvm_ComputerSystem.Name='X'} WHERE ResultClass = Msvm_SystemDevice"),
    ("WQL", "SELECT * FROM __InstanceModificationEvent WITHIN 2 WHERE TargetInstance ISA "
            "'Msvm_ComputerSystem' AND TargetInstance.EnabledState = 2"),
    ("WQL", "SELECT * FROM Msvm_ConcreteJob WHERE JobState IS NOT NULL AND PercentComplete >= 0x10"),
    ("DMTF:CQL", "SELECT cs.Name, cs.EnabledState FROM Msvm_ComputerSystem cs WHERE "
                 "cs.EnabledState = 2 AND cs.ElementName LIKE 'w.*' ORDER BY cs.Name DESC"),
    ("DMTF:CQL", "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA "
                 "Msvm_ComputerSystem AND SourceInstance.Msvm_ComputerSystem::EnabledState <> "
                 "PreviousInstance.Msvm_ComputerSystem::EnabledState"),
    ("DMTF:CQL", "SELECT * FROM CIM_RegisteredProfile WHERE ANY x IN RegisteredName "
                 "SATISFIES (x = 'Virtual System') OR UPPER(RegisteredOrganization) = 'DMTF'"),
    ("DMTF:CQL", "SELECT * FROM Msvm_ComputerSystem WHERE OperationalStatus[0] = 2 AND "
                 "-(EnabledState * 2 + 1) < 10 AND NOT (Name IS NULL)"),
]

QUERY_WORDS: list[str] = [
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "LIKE", "ISA", "IS", "NULL", "IN", "TRUE",
    "FALSE", "ASSOCIATORS", "REFERENCES", "OF", "ORDER", "BY", "ASC", "DESC", "ANY", "EVERY",
    "SATISFIES", "WITHIN", "AS", "*", ",", "(", ")", "[", "]", "{", "}", ".", "::", "=", "<>",
    "!=", "<", "<=", ">", ">=", "+", "-", "/", "||", "'", "\"", "\\", "%", "_", "0x1F", "3.5e2",
    "-7", "'text'", "Msvm_ComputerSystem", "Name", "__PATH", "TargetInstance", "AssocClass",
    "ResultClass", "Role", "ResultRole", "KeysOnly", "ClassDefsOnly", "UPPER(", "#", "$", "\x00",
]

XML_WORDS: list[bytes] = [
    b"<VALUE>", b"</VALUE>", b"<VALUE.ARRAY>", b"</VALUE.ARRAY>", b"<VALUE.REFERENCE>",
    b"<INSTANCENAME CLASSNAME=\"X\">", b"</INSTANCENAME>", b"<KEYBINDING NAME=\"K\">",
    b"<KEYVALUE VALUETYPE=\"numeric\" TYPE=\"uint32\">", b"</KEYVALUE>", b"<IPARAMVALUE NAME=\"",
    b"<PARAMVALUE NAME=\"P\" PARAMTYPE=\"", b"<PROPERTY NAME=\"P\" TYPE=\"", b"<INSTANCE CLASSNAME=\"",
    b"<CLASSNAME NAME=\"", b"<LOCALNAMESPACEPATH>", b"<NAMESPACE NAME=\"", b"EmbeddedObject=\"instance\"",
    b"&lt;INSTANCE&gt;", b"&amp;", b"&#0;", b"&#x110000;", b"<![CDATA[", b"]]>", b"<!--", b"-->",
    b"<?xml version=\"1.0\"?>", b"<!DOCTYPE x [<!ENTITY a \"b\">]>", b"uint64", b"sint8", b"datetime",
    b"reference", b"string", b"boolean", b"real64", b"char16", b"18446744073709551616", b"-1",
    b"20261206064338.884797+000", b"00000000000000.506256:000", b"\xff\xfe", b"\xc3", b"TRUE",
]
