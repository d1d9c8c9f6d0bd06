"""The interop namespace as pywbem's WBEMConnection and WBEMServer see it."""

from __future__ import annotations

import pywbem
import pytest
from pywbem import CIMError, CIMInstanceName

V2 = "root/virtualization/v2"


def test_namespaces_are_listed_as_cim_namespace_instances(conn):
    names = {i["Name"] for i in conn.EnumerateInstances("CIM_Namespace")}
    assert names == {"root/interop", V2}


def test_wbem_server_discovers_interop_brand_and_version(server):
    wbem = pywbem.WBEMServer(server.connection())
    assert wbem.interop_ns == "root/interop"
    assert set(wbem.namespaces) == {"root/interop", V2}
    assert wbem.brand == "cimprovider"
    assert wbem.version == "0.1.0"


def test_exactly_one_object_manager_with_system_name(conn):
    managers = conn.EnumerateInstances("CIM_ObjectManager")
    assert len(managers) == 1
    assert managers[0]["SystemName"]
    assert "version 0.1.0" in managers[0]["Description"]


def test_profiles_and_their_central_instances(server):
    wbem = pywbem.WBEMServer(server.connection())
    names = {(p["RegisteredOrganization"], p["RegisteredName"]) for p in wbem.profiles}
    assert (2, "Profile Registration") in names
    selected = wbem.get_selected_profiles("DMTF", "WBEM Server")
    assert len(selected) == 1
    central = wbem.get_central_instances(selected[0].path)
    assert [p.classname for p in central] == ["CIM_ObjectManager"]


def test_registered_organization_carries_valuemap(conn):
    cls = conn.GetClass("CIM_RegisteredProfile", LocalOnly=False, IncludeQualifiers=True)
    qualifiers = cls.properties["RegisteredOrganization"].qualifiers
    values = dict(zip(qualifiers["ValueMap"].value, qualifiers["Values"].value))
    assert values["2"] == "DMTF"


@pytest.mark.parametrize("namespace", ["root/interop", "ROOT/INTEROP", "root\\interop", "/root/interop"])
def test_namespace_names_are_case_and_separator_insensitive(server, namespace):
    conn = server.connection(namespace)
    assert len(conn.EnumerateInstanceNames("CIM_ObjectManager")) == 1


def test_unknown_namespace_is_error_3(conn):
    with pytest.raises(CIMError) as err:
        conn.EnumerateInstanceNames("CIM_Namespace", namespace="root/nowhere")
    assert err.value.status_code == pywbem.CIM_ERR_INVALID_NAMESPACE
    assert "root/nowhere" in err.value.status_description


def test_unknown_class_is_error_5(conn):
    with pytest.raises(CIMError) as err:
        conn.EnumerateInstances("CIM_NoSuchThing")
    assert err.value.status_code == pywbem.CIM_ERR_INVALID_CLASS
    assert "CIM_NoSuchThing" in err.value.status_description


def test_unknown_instance_is_error_6(conn):
    path = conn.EnumerateInstanceNames("CIM_Namespace")[0]
    path.keybindings["Name"] = "root/missing"
    with pytest.raises(CIMError) as err:
        conn.GetInstance(path)
    assert err.value.status_code == pywbem.CIM_ERR_NOT_FOUND


def test_unknown_intrinsic_operation_is_error_7(conn):
    with pytest.raises(CIMError) as err:
        conn._imethodcall("FrobnicateInstances", "root/interop")
    assert err.value.status_code == pywbem.CIM_ERR_NOT_SUPPORTED


def test_unknown_method_is_error_17(conn):
    path = conn.EnumerateInstanceNames("CIM_ObjectManager")[0]
    with pytest.raises(CIMError) as err:
        conn.InvokeMethod("NoSuchMethod", path)
    assert err.value.status_code == pywbem.CIM_ERR_METHOD_NOT_FOUND


def test_class_writes_are_refused(conn):
    cls = conn.GetClass("CIM_Namespace")
    with pytest.raises(CIMError) as err:
        conn.ModifyClass(cls)
    assert err.value.status_code == pywbem.CIM_ERR_NOT_SUPPORTED
    with pytest.raises(CIMError):
        conn.DeleteClass("CIM_Namespace")


def test_get_instance_with_property_list(conn):
    path = conn.EnumerateInstanceNames("CIM_ObjectManager")[0]
    inst = conn.GetInstance(path, PropertyList=["ElementName"])
    assert list(inst.properties) == ["ElementName"]


def test_get_and_set_property_style_operations(conn):
    path = conn.EnumerateInstanceNames("CIM_ObjectManager")[0]
    value = conn._imethodcall(
        "GetProperty", "root/interop", InstanceName=path, PropertyName="ElementName"
    )
    assert value is not None


def test_associators_cross_namespace_conformance(conn):
    om = conn.EnumerateInstanceNames("CIM_ObjectManager")[0]
    profiles = conn.AssociatorNames(om, AssocClass="CIM_ElementConformsToProfile", ResultRole="ConformantStandard")
    names = {conn.GetInstance(p)["RegisteredName"] for p in profiles}
    assert {"Profile Registration", "WBEM Server"} <= names
    refs = conn.References(om, ResultClass="CIM_ElementConformsToProfile")
    assert all(r.path.host for r in refs)


def test_pull_enumeration_in_small_batches(conn):
    classic = sorted(str(p) for p in conn.EnumerateInstanceNames("CIM_Namespace"))
    result = conn.OpenEnumerateInstances("CIM_Namespace", MaxObjectCount=1)
    seen = [i.path for i in result.instances]
    context = result.context
    while not result.eos:
        result = conn.PullInstancesWithPath(context, MaxObjectCount=1)
        seen += [i.path for i in result.instances]
        context = result.context
    assert sorted(str(CIMInstanceName(p.classname, p.keybindings, namespace=p.namespace)) for p in seen) == classic


def test_iter_operations_use_pull_and_match_classic(server):
    conn = server.connection(use_pull_operations=None)
    pulled = list(conn.IterEnumerateInstances("CIM_RegisteredProfile", MaxObjectCount=1))
    classic = conn.EnumerateInstances("CIM_RegisteredProfile")
    assert sorted(i["InstanceID"] for i in pulled) == sorted(i["InstanceID"] for i in classic)
    assert conn._use_enum_inst_pull_operations is True


def test_closed_enumeration_context_is_invalid(conn):
    result = conn.OpenEnumerateInstancePaths("CIM_RegisteredProfile", MaxObjectCount=0)
    assert not result.eos
    conn.CloseEnumeration(result.context)
    with pytest.raises(CIMError) as err:
        conn.PullInstancePaths(result.context, MaxObjectCount=10)
    assert err.value.status_code == pywbem.CIM_ERR_INVALID_ENUMERATION_CONTEXT


def test_enumeration_count(conn):
    total = len(conn.EnumerateInstanceNames("CIM_RegisteredProfile"))
    result = conn.OpenEnumerateInstancePaths("CIM_RegisteredProfile", MaxObjectCount=1)
    # pywbem has no EnumerationCount method: send the intrinsic call itself.
    answer = conn._imethodcall("EnumerationCount", "root/interop", EnumerationContext=result.context[0])
    count = int(answer[0][2][0])
    assert count == total - 1
    conn.CloseEnumeration(result.context)
