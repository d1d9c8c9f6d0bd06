"""Every intrinsic operation as pywbem's WBEMConnection sends it, against
the interop namespace: its filter, destination and subscription classes
take writes, the rest is read-only."""

from __future__ import annotations

import pywbem
import pytest
from pywbem import CIMError, CIMInstance, CIMInstanceName, Uint16


def new_filter(conn, name: str) -> CIMInstanceName:
    system = conn.EnumerateInstances("CIM_ObjectManager")[0]["SystemName"]
    instance = CIMInstance(
        "CIM_IndicationFilter",
        properties={
            "CreationClassName": "CIM_IndicationFilter",
            "SystemCreationClassName": "CIM_ComputerSystem",
            "SystemName": system,
            "Name": name,
            "SourceNamespaces": ["root/virtualization/v2"],
            "Query": "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ComputerSystem",
            "QueryLanguage": "DMTF:CQL",
        },
    )
    return conn.CreateInstance(instance)


def test_create_get_modify_set_property_delete(conn):
    path = new_filter(conn, "operations-test")
    assert path.keybindings["Name"] == "operations-test"
    assert conn.GetInstance(path)["QueryLanguage"] == "DMTF:CQL"
    modified = conn.GetInstance(path)
    modified["ElementName"] = "changed by ModifyInstance"
    conn.ModifyInstance(modified, PropertyList=["ElementName"])
    assert conn.GetInstance(path)["ElementName"] == "changed by ModifyInstance"
    conn._imethodcall(
        "SetProperty", "root/interop", InstanceName=path, PropertyName="ElementName", NewValue="changed by SetProperty"
    )
    value = conn._imethodcall("GetProperty", "root/interop", InstanceName=path, PropertyName="ElementName")
    assert value[0][2][0] == "changed by SetProperty"
    conn.DeleteInstance(path)
    with pytest.raises(CIMError) as err:
        conn.GetInstance(path)
    assert err.value.status_code == pywbem.CIM_ERR_NOT_FOUND


def test_create_with_unknown_property_is_refused(conn):
    instance = CIMInstance("CIM_IndicationFilter", properties={"Name": "x", "NoSuchProperty": "y"})
    with pytest.raises(CIMError) as err:
        conn.CreateInstance(instance)
    assert err.value.status_code == pywbem.CIM_ERR_NO_SUCH_PROPERTY


def test_class_operations(conn):
    names = conn.EnumerateClassNames(DeepInheritance=True)
    assert "CIM_RegisteredProfile" in names
    top = conn.EnumerateClassNames()
    assert "CIM_ManagedElement" in top and "CIM_RegisteredProfile" not in top
    classes = conn.EnumerateClasses(ClassName="CIM_ManagedElement", DeepInheritance=False, LocalOnly=True)
    assert all(c.superclass == "CIM_ManagedElement" for c in classes)
    local = conn.GetClass("CIM_ObjectManager", LocalOnly=True, IncludeQualifiers=False)
    full = conn.GetClass("CIM_ObjectManager", LocalOnly=False, IncludeClassOrigin=True)
    assert set(local.properties) < set(full.properties)
    assert full.properties["ElementName"].class_origin == "CIM_ManagedElement"
    assert not local.qualifiers
    only = conn.GetClass("CIM_ObjectManager", LocalOnly=False, PropertyList=["Name"])
    assert list(only.properties) == ["Name"]


def test_qualifier_operations(conn):
    key = conn.GetQualifier("Key")
    assert key.type == "boolean"
    assert "ValueMap" in {q.name for q in conn.EnumerateQualifiers()}
    with pytest.raises(CIMError) as err:
        conn.GetQualifier("NoSuchQualifier")
    assert err.value.status_code == pywbem.CIM_ERR_NOT_FOUND
    with pytest.raises(CIMError):
        conn.DeleteQualifier("Key")


def test_instance_enumeration_flags(conn):
    deep = conn.EnumerateInstances("CIM_ManagedElement", PropertyList=["ElementName"])
    assert {i.classname for i in deep} >= {"CIM_ObjectManager", "CIM_Namespace", "CIM_RegisteredProfile"}
    assert all(set(i.properties) <= {"ElementName"} for i in deep)
    shallow = conn.EnumerateInstances("CIM_WBEMService", DeepInheritance=False)
    assert all("ElementName" in i.properties for i in shallow)
    with_origin = conn.EnumerateInstances("CIM_ObjectManager", IncludeClassOrigin=True)
    assert with_origin[0].properties["ElementName"].class_origin == "CIM_ManagedElement"


def test_association_operations(conn):
    profile = CIMInstanceName("CIM_RegisteredProfile", {"InstanceID": "DMTF+WBEM Server+1.0.0"}, namespace="root/interop")
    names = conn.AssociatorNames(profile, AssocClass="CIM_ElementConformsToProfile", ResultRole="ManagedElement")
    assert [p.classname for p in names] == ["CIM_ObjectManager"]
    instances = conn.Associators(profile, ResultClass="CIM_ObjectManager")
    assert instances[0]["ElementName"] == "cimprovider"
    refs = conn.ReferenceNames(profile, ResultClass="CIM_ElementConformsToProfile", Role="ConformantStandard")
    assert len(refs) == 1
    assert conn.References(profile, ResultClass="CIM_ElementConformsToProfile")[0].path == refs[0]
    assert conn.AssociatorNames(profile, AssocClass="CIM_ElementConformsToProfile", ResultRole="ConformantStandard") == []


def test_class_level_associations(conn):
    classes = conn.Associators("CIM_RegisteredProfile", AssocClass="CIM_ElementConformsToProfile")
    assert "CIM_ManagedElement" in {c[1].classname for c in classes}
    refs = conn.ReferenceNames("CIM_RegisteredProfile")
    assert "CIM_ElementConformsToProfile" in {r.classname for r in refs}


def test_pull_association_operations(conn):
    manager = conn.EnumerateInstanceNames("CIM_ObjectManager")[0]
    result = conn.OpenAssociatorInstances(manager, AssocClass="CIM_ElementConformsToProfile", MaxObjectCount=100)
    assert result.eos and {i["RegisteredName"] for i in result.instances} >= {"WBEM Server"}
    paths = conn.OpenAssociatorInstancePaths(manager, AssocClass="CIM_ElementConformsToProfile", MaxObjectCount=100)
    assert len(paths.paths) == len(result.instances)
    refs = conn.OpenReferenceInstances(manager, MaxObjectCount=100)
    ref_paths = conn.OpenReferenceInstancePaths(manager, MaxObjectCount=100)
    assert len(refs.instances) == len(ref_paths.paths) >= 2


def test_invoke_method_with_output_typed_return(conn):
    manager = conn.EnumerateInstanceNames("CIM_ObjectManager")[0]
    value, out = conn.InvokeMethod("RequestStateChange", manager, RequestedState=Uint16(3))
    assert value == 1 and out == {}


@pytest.mark.parametrize(("given", "said"), [
    ("object path", "parameter RequestedState is a uint16, not an object path"),
    ("array", "parameter RequestedState takes one uint16, not an array"),
    ("embedded instance", "parameter RequestedState is a uint16, not an embedded instance"),
])
def test_a_parameter_of_the_wrong_kind_is_invalid_naming_it(conn, given, said):
    """Values pywbem sends typed (a path, an array, an instance) for a
    uint16: CIM_ERR_INVALID_PARAMETER, as for text that is not a number."""
    manager = conn.EnumerateInstanceNames("CIM_ObjectManager")[0]
    value = {"object path": manager, "array": [Uint16(2)], "embedded instance": CIMInstance("CIM_Job")}[given]
    with pytest.raises(CIMError) as refused:
        conn.InvokeMethod("RequestStateChange", manager, RequestedState=value)
    assert refused.value.status_code == pywbem.CIM_ERR_INVALID_PARAMETER
    assert said in refused.value.status_description
