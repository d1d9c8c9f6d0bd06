"""Differential: what pywbem sends, parse_request reads as pywbem meant it."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from pywbem import (
    CIMClassName,
    CIMDateTime,
    CIMInstance,
    CIMInstanceName,
    CIMParameter,
    Char16,
    Real32,
    Real64,
    Sint32,
    Uint8,
    Uint16,
    Uint32,
    WBEMConnection,
)
from samples import EMBEDDED, NS, OTHER_PATH, PATH, QUALIFIER_DECLARATIONS, full_class, full_instance
from wire_support import WireLoop

from cimprovider.wire import INTRINSICS, ExtrinsicCall, IntrinsicCall, ParamValue

CTX = ("ctx-42", NS)
FILTER = dict(FilterQueryLanguage="DMTF:FQL", FilterQuery="Name = 'x'", OperationTimeout=30,
              ContinueOnError=False, MaxObjectCount=Uint32(100))


def _local(path: CIMInstanceName) -> CIMInstanceName:
    """What pywbem puts in an INSTANCENAME IPARAMVALUE: no host, no namespace."""
    bare = path.copy()
    bare.namespace = None
    bare.host = None
    return bare


def _named(instance: CIMInstance) -> CIMInstance:
    named = instance.copy()
    named.path = _local(instance.path)
    return named


INSTANCE = full_instance(PATH.copy())
CLASS = full_class()

# (operation as a pywbem call, expected canonical method, expected params)
CASES: list[tuple[str, Callable[[WBEMConnection], Any], dict[str, Any]]] = [
    ("EnumerateInstances", lambda c: c.EnumerateInstances(
        "CIM_Foo", LocalOnly=False, DeepInheritance=True, IncludeQualifiers=False, IncludeClassOrigin=True,
        PropertyList=["Name", "Id"]),
     dict(ClassName="CIM_Foo", LocalOnly=False, DeepInheritance=True, IncludeQualifiers=False,
          IncludeClassOrigin=True, PropertyList=["Name", "Id"])),
    ("EnumerateInstanceNames", lambda c: c.EnumerateInstanceNames("CIM_Foo"), dict(ClassName="CIM_Foo")),
    ("GetInstance", lambda c: c.GetInstance(PATH.copy(), LocalOnly=False, IncludeQualifiers=True,
                                            IncludeClassOrigin=False, PropertyList=[]),
     dict(InstanceName=PATH, LocalOnly=False, IncludeQualifiers=True, IncludeClassOrigin=False, PropertyList=[])),
    ("ModifyInstance", lambda c: c.ModifyInstance(INSTANCE, IncludeQualifiers=False, PropertyList=["Name"]),
     dict(ModifiedInstance=_named(INSTANCE), IncludeQualifiers=False, PropertyList=["Name"])),
    ("CreateInstance", lambda c: c.CreateInstance(full_instance()), dict(NewInstance=full_instance())),
    ("DeleteInstance", lambda c: c.DeleteInstance(PATH.copy()), dict(InstanceName=PATH)),
    ("Associators", lambda c: c.Associators(
        PATH.copy(), AssocClass="CIM_Assoc", ResultClass="CIM_Res", Role="Antecedent", ResultRole="Dependent",
        IncludeQualifiers=True, IncludeClassOrigin=True, PropertyList=["A"]),
     dict(ObjectName=PATH, AssocClass="CIM_Assoc", ResultClass="CIM_Res", Role="Antecedent",
          ResultRole="Dependent", IncludeQualifiers=True, IncludeClassOrigin=True, PropertyList=["A"])),
    ("Associators", lambda c: c.Associators("CIM_Foo"), dict(ObjectName=CIMClassName("CIM_Foo"))),
    ("AssociatorNames", lambda c: c.AssociatorNames(PATH.copy(), AssocClass="CIM_Assoc", ResultRole="Dependent"),
     dict(ObjectName=PATH, AssocClass="CIM_Assoc", ResultRole="Dependent")),
    ("References", lambda c: c.References(PATH.copy(), ResultClass="CIM_Assoc", Role="Antecedent",
                                          IncludeQualifiers=False, IncludeClassOrigin=False, PropertyList=None),
     dict(ObjectName=PATH, ResultClass="CIM_Assoc", Role="Antecedent", IncludeQualifiers=False,
          IncludeClassOrigin=False)),
    ("ReferenceNames", lambda c: c.ReferenceNames("CIM_Foo", ResultClass="CIM_Assoc"),
     dict(ObjectName=CIMClassName("CIM_Foo"), ResultClass="CIM_Assoc")),
    ("ExecQuery", lambda c: c.ExecQuery("WQL", "SELECT * FROM CIM_Foo WHERE Name = \"<&>\""),
     dict(QueryLanguage="WQL", Query="SELECT * FROM CIM_Foo WHERE Name = \"<&>\"")),
    ("OpenEnumerateInstances", lambda c: c.OpenEnumerateInstances(
        "CIM_Foo", DeepInheritance=True, IncludeClassOrigin=True, PropertyList=["a"], **FILTER),
     dict(ClassName="CIM_Foo", DeepInheritance=True, IncludeClassOrigin=True, PropertyList=["a"], **FILTER)),
    ("OpenEnumerateInstancePaths", lambda c: c.OpenEnumerateInstancePaths("CIM_Foo", **FILTER),
     dict(ClassName="CIM_Foo", **FILTER)),
    ("OpenAssociatorInstances", lambda c: c.OpenAssociatorInstances(
        PATH.copy(), AssocClass="A", ResultClass="R", Role="r", ResultRole="rr", IncludeClassOrigin=True,
        PropertyList=["p"], **FILTER),
     dict(InstanceName=PATH, AssocClass="A", ResultClass="R", Role="r", ResultRole="rr", IncludeClassOrigin=True,
          PropertyList=["p"], **FILTER)),
    ("OpenAssociatorInstancePaths", lambda c: c.OpenAssociatorInstancePaths(PATH.copy(), AssocClass="A", **FILTER),
     dict(InstanceName=PATH, AssocClass="A", **FILTER)),
    ("OpenReferenceInstances", lambda c: c.OpenReferenceInstances(PATH.copy(), ResultClass="R", Role="r",
                                                                   IncludeClassOrigin=False, **FILTER),
     dict(InstanceName=PATH, ResultClass="R", Role="r", IncludeClassOrigin=False, **FILTER)),
    ("OpenReferenceInstancePaths", lambda c: c.OpenReferenceInstancePaths(PATH.copy(), Role="r", **FILTER),
     dict(InstanceName=PATH, Role="r", **FILTER)),
    ("OpenQueryInstances", lambda c: c.OpenQueryInstances("DMTF:CQL", "SELECT * FROM CIM_Foo",
                                                          ReturnQueryResultClass=True, MaxObjectCount=5),
     dict(FilterQueryLanguage="DMTF:CQL", FilterQuery="SELECT * FROM CIM_Foo", ReturnQueryResultClass=True,
          MaxObjectCount=5)),
    ("PullInstancesWithPath", lambda c: c.PullInstancesWithPath(CTX, 10),
     dict(EnumerationContext="ctx-42", MaxObjectCount=10)),
    ("PullInstancePaths", lambda c: c.PullInstancePaths(CTX, 0), dict(EnumerationContext="ctx-42", MaxObjectCount=0)),
    ("PullInstances", lambda c: c.PullInstances(CTX, 7), dict(EnumerationContext="ctx-42", MaxObjectCount=7)),
    ("CloseEnumeration", lambda c: c.CloseEnumeration(CTX), dict(EnumerationContext="ctx-42")),
    ("EnumerateClasses", lambda c: c.EnumerateClasses(ClassName="CIM_Foo", DeepInheritance=True, LocalOnly=False,
                                                      IncludeQualifiers=True, IncludeClassOrigin=False),
     dict(ClassName="CIM_Foo", DeepInheritance=True, LocalOnly=False, IncludeQualifiers=True,
          IncludeClassOrigin=False)),
    ("EnumerateClassNames", lambda c: c.EnumerateClassNames(DeepInheritance=True), dict(DeepInheritance=True)),
    ("GetClass", lambda c: c.GetClass("CIM_Foo", LocalOnly=False, IncludeQualifiers=True, IncludeClassOrigin=True,
                                      PropertyList=["Name"]),
     dict(ClassName="CIM_Foo", LocalOnly=False, IncludeQualifiers=True, IncludeClassOrigin=True,
          PropertyList=["Name"])),
    ("CreateClass", lambda c: c.CreateClass(CLASS), dict(NewClass=CLASS)),
    ("ModifyClass", lambda c: c.ModifyClass(CLASS), dict(ModifiedClass=CLASS)),
    ("DeleteClass", lambda c: c.DeleteClass("CIM_Foo"), dict(ClassName="CIM_Foo")),
    ("EnumerateQualifiers", lambda c: c.EnumerateQualifiers(), {}),
    ("GetQualifier", lambda c: c.GetQualifier("Key"), dict(QualifierName="Key")),
    ("SetQualifier", lambda c: c.SetQualifier(QUALIFIER_DECLARATIONS[0]),
     dict(QualifierDeclaration=QUALIFIER_DECLARATIONS[0])),
    ("SetQualifier", lambda c: c.SetQualifier(QUALIFIER_DECLARATIONS[1]),
     dict(QualifierDeclaration=QUALIFIER_DECLARATIONS[1])),
    ("DeleteQualifier", lambda c: c.DeleteQualifier("Key"), dict(QualifierName="Key")),
    # DSP0200 operations pywbem has no method for, sent through its generic path
    ("GetProperty", lambda c: c._imethodcall("GetProperty", NS, InstanceName=_local(PATH), PropertyName="Name"),
     dict(InstanceName=PATH, PropertyName="Name")),
    ("SetProperty", lambda c: c._imethodcall("SetProperty", NS, has_return_value=False, InstanceName=_local(PATH),
                                             PropertyName="Codes", NewValue=[Uint16(1), Uint16(2)]),
     dict(InstanceName=PATH, PropertyName="Codes", NewValue=["1", "2"])),
    ("SetProperty", lambda c: c._imethodcall("SetProperty", NS, has_return_value=False, InstanceName=_local(PATH),
                                             PropertyName="Owner", NewValue=OTHER_PATH),
     dict(InstanceName=PATH, PropertyName="Owner", NewValue=OTHER_PATH)),
    ("EnumerationCount", lambda c: c._imethodcall("EnumerationCount", NS, EnumerationContext="ctx-42"),
     dict(EnumerationContext="ctx-42")),
]


_ALL_SCOPES = dict.fromkeys(("CLASS", "ASSOCIATION", "REFERENCE", "PROPERTY", "METHOD", "PARAMETER", "INDICATION"), True)


def _expected(params: dict[str, Any]) -> dict[str, Any]:
    expected = {k: _local(v) if isinstance(v, CIMInstanceName) and k != "NewValue" else v for k, v in params.items()}
    decl = expected.get("QualifierDeclaration")
    if decl is not None and decl.scopes.get("ANY"):
        # CIM-XML has no ANY scope: pywbem sends it as all seven, and so it arrives.
        decl = decl.copy()
        decl.scopes = _ALL_SCOPES
        expected["QualifierDeclaration"] = decl
    return expected


@pytest.mark.parametrize(("method", "operation", "params"), CASES, ids=[f"{i}-{c[0]}" for i, c in enumerate(CASES)])
def test_intrinsic_request_reads_as_pywbem_meant(loop: WireLoop, method: str, operation: Any, params: dict) -> None:
    request = loop.capture(operation)
    assert isinstance(request, IntrinsicCall)
    assert request.method == method
    assert request.namespace == NS
    assert request.message_id == "1001"
    assert request.params == _expected(params)


def test_every_intrinsic_method_is_covered_by_a_differential_case() -> None:
    assert {case[0] for case in CASES} == set(INTRINSICS)


def test_instance_name_sent_as_a_local_path_keeps_its_namespace(loop: WireLoop) -> None:
    located = CIMInstanceName("CIM_Foo", {"Name": "a"}, namespace="root/other")
    request = loop.capture(lambda c: c._imethodcall("GetProperty", NS, InstanceName=located, PropertyName="P"))
    assert request.params["InstanceName"] == located
    classpath = CIMClassName("CIM_Foo", namespace="root/other")
    request = loop.capture(lambda c: c._imethodcall("ReferenceNames", NS, ObjectName=classpath))
    assert request.params["ObjectName"] == classpath


def test_namespace_with_one_and_three_parts(loop: WireLoop) -> None:
    assert loop.capture(lambda c: c.EnumerateInstanceNames("C", namespace="interop")).namespace == "interop"
    deep = loop.capture(lambda c: c.EnumerateInstanceNames("C", namespace="root/virtualization/v2"))
    assert deep.namespace == "root/virtualization/v2"


# --- extrinsic -----------------------------------------------------------

REF_A = CIMInstanceName("CIM_Foo", {"Name": "a"}, namespace=NS)
REF_B = CIMInstanceName("CIM_Foo", {"Name": "b"}, namespace=NS, host="h")
EMBEDDED_CLASS = full_class()

# (name, value as given to pywbem, expected ParamValue)
PARAMS: list[tuple[str, Any, ParamValue]] = [
    ("Text", "a < b & \"c\"", ParamValue("Text", "string", "a < b & \"c\"")),
    ("Empty", "", ParamValue("Empty", "string", "")),
    ("Byte", Uint8(200), ParamValue("Byte", "uint8", Uint8(200))),
    ("Neg", Sint32(-5), ParamValue("Neg", "sint32", Sint32(-5))),
    ("Flag", True, ParamValue("Flag", "boolean", True)),
    ("When", CIMDateTime("20240102030405.000000+000"),
     ParamValue("When", "datetime", CIMDateTime("20240102030405.000000+000"))),
    ("R32", Real32(0.5), ParamValue("R32", "real32", Real32(0.5))),
    ("R64", Real64(1e300), ParamValue("R64", "real64", Real64(1e300))),
    ("Ch", Char16("z"), ParamValue("Ch", "char16", "z")),
    ("States", [Uint16(2), Uint16(3)], ParamValue("States", "uint16", [Uint16(2), Uint16(3)], is_array=True)),
    ("Names", ["x", "y"], ParamValue("Names", "string", ["x", "y"], is_array=True)),
    ("Nothing", [], ParamValue("Nothing", None, [], is_array=True)),
    ("Null", None, ParamValue("Null", None, None)),
    ("Target", REF_A, ParamValue("Target", "reference", REF_A)),
    ("Targets", [REF_A, REF_B], ParamValue("Targets", "reference", [REF_A, REF_B], is_array=True)),
    ("ClassRef", CIMClassName("CIM_Foo", namespace=NS), ParamValue("ClassRef", "reference",
                                                                   CIMClassName("CIM_Foo", namespace=NS))),
    ("Settings", EMBEDDED, ParamValue("Settings", "string", EMBEDDED, embedded_object="instance")),
    ("SettingsList", [EMBEDDED, EMBEDDED],
     ParamValue("SettingsList", "string", [EMBEDDED, EMBEDDED], embedded_object="instance", is_array=True)),
    ("Definition", EMBEDDED_CLASS, ParamValue("Definition", "string", EMBEDDED_CLASS, embedded_object="object")),
]


@pytest.mark.parametrize(("name", "value", "expected"), PARAMS, ids=[p[0] for p in PARAMS])
def test_each_method_parameter_form_reads_as_pywbem_meant(
    loop: WireLoop, name: str, value: Any, expected: ParamValue
) -> None:
    request = loop.capture(lambda c: c.InvokeMethod("DoIt", PATH.copy(), Params=[(name, value)]))
    assert isinstance(request, ExtrinsicCall)
    assert request.params == (expected,)


def test_method_call_with_all_parameters_on_an_instance(loop: WireLoop) -> None:
    target = CIMInstanceName("Msvm_ComputerSystem", {"Name": "VM-1", "CreationClassName": "Msvm_ComputerSystem"},
                             namespace="root/virtualization/v2")
    request = loop.capture(lambda c: c.InvokeMethod("RequestStateChange", target,
                                                    Params=[(p[0], p[1]) for p in PARAMS]))
    assert isinstance(request, ExtrinsicCall)
    assert request.method == "RequestStateChange"
    assert request.namespace == "root/virtualization/v2"
    assert request.target == target
    assert request.params == tuple(p[2] for p in PARAMS)


def test_static_method_call_targets_the_class(loop: WireLoop) -> None:
    request = loop.capture(lambda c: c.InvokeMethod("Create", CIMClassName("CIM_Foo", namespace="interop"),
                                                    Params=[CIMParameter("Count", "uint32", value=Uint32(3))]))
    assert isinstance(request, ExtrinsicCall)
    assert request.target == CIMClassName("CIM_Foo", namespace="interop")
    assert request.namespace == "interop"
    assert request.params == (ParamValue("Count", "uint32", Uint32(3)),)


def test_cim_parameter_objects_keep_their_declared_type(loop: WireLoop) -> None:
    request = loop.capture(lambda c: c.InvokeMethod("M", PATH.copy(), Params=[
        CIMParameter("Raw", "uint64", value=Uint32(5)),
        CIMParameter("Emb", "string", value=EMBEDDED, embedded_object="instance"),
        CIMParameter("None", "uint16", value=None),
    ]))
    assert request.params == (
        ParamValue("Raw", "uint64", 5),
        ParamValue("Emb", "string", EMBEDDED, embedded_object="instance"),
        ParamValue("None", "uint16", None),
    )
    assert request.params[0].value.cimtype == "uint64"
