"""Class lookups: names, inheritance, keys, methods, qualifier declarations."""

from __future__ import annotations

import pytest
from pywbem import (
    CIM_ERR_INVALID_CLASS,
    CIM_ERR_INVALID_NAMESPACE,
    CIM_ERR_METHOD_NOT_FOUND,
    CIM_ERR_NOT_FOUND,
    CIMError,
)

INTEROP = "root/interop"
V2 = "root/virtualization/v2"


@pytest.mark.parametrize("spelling", [
    "root/interop", "ROOT/INTEROP", "root\\interop", "/root/interop", "Root\\InterOp",
])
def test_namespace_names_are_case_and_separator_insensitive(repo, spelling):
    assert repo.canonical_namespace(spelling) == INTEROP


def test_unknown_namespace_is_invalid_namespace_naming_it(repo):
    with pytest.raises(CIMError) as exc:
        repo.get_class("root/cimv2", "CIM_ManagedElement")
    assert exc.value.status_code == CIM_ERR_INVALID_NAMESPACE
    assert "root/cimv2" in exc.value.status_description


def test_unknown_class_is_invalid_class_naming_it(repo):
    with pytest.raises(CIMError) as exc:
        repo.get_class(INTEROP, "CIM_NoSuchThing")
    assert exc.value.status_code == CIM_ERR_INVALID_CLASS
    assert "CIM_NoSuchThing" in exc.value.status_description


def test_class_names_are_case_insensitive(repo):
    cls = repo.get_class(V2, "cim_computersystem")
    assert cls.classname == "CIM_ComputerSystem"
    assert repo.canonical_classname(V2, "CIM_COMPUTERSYSTEM") == "CIM_ComputerSystem"
    assert repo.has_class(V2, "cIm_SeTtInGdAtA")
    assert not repo.has_class(V2, "CIM_Nothing")


def test_superclass_chain_nearest_first(repo):
    assert repo.superclasses(INTEROP, "cim_listenerdestinationcimxml") == [
        "CIM_ListenerDestination", "CIM_ManagedElement"]
    assert repo.superclasses(V2, "CIM_ComputerSystem") == [
        "CIM_System", "CIM_EnabledLogicalElement", "CIM_LogicalElement",
        "CIM_ManagedSystemElement", "CIM_ManagedElement"]
    assert repo.superclasses(V2, "CIM_ManagedElement") == []


def test_is_subclass_is_reflexive_and_case_insensitive(repo):
    assert repo.is_subclass(V2, "CIM_ComputerSystem", "cim_managedelement")
    assert repo.is_subclass(V2, "cim_computersystem", "CIM_ComputerSystem")
    assert not repo.is_subclass(V2, "CIM_ManagedElement", "CIM_ComputerSystem")
    assert not repo.is_subclass(V2, "CIM_ComputerSystem", "CIM_Service")


def test_subclasses_list_every_descendant_after_its_superclass(repo):
    subs = repo.subclasses(V2, "CIM_ResourceAllocationSettingData")
    assert subs[0] == "CIM_ResourceAllocationSettingData"
    assert {"CIM_StorageAllocationSettingData", "CIM_EthernetPortAllocationSettingData"} <= set(subs)
    assert "CIM_ResourceAllocationSettingData" not in repo.subclasses(
        V2, "CIM_ResourceAllocationSettingData", include_self=False)
    all_names = repo.subclasses(V2, "CIM_ManagedElement")
    for name in all_names[1:]:
        sup = repo.get_class(V2, name).superclass
        assert all_names.index(sup) < all_names.index(name)


def test_class_names_direct_and_deep(repo):
    top = repo.class_names(INTEROP)
    assert "CIM_ManagedElement" in top and "CIM_IndicationSubscription" in top
    assert "CIM_System" not in top
    assert repo.class_names(INTEROP, "CIM_System") == ["CIM_ComputerSystem"]
    deep = repo.class_names(INTEROP, "cim_enabledlogicalelement", deep=True)
    assert "CIM_ComputerSystem" in deep and "CIM_ObjectManager" in deep
    assert "CIM_EnabledLogicalElement" not in deep
    everything = repo.class_names(INTEROP, None, deep=True)
    assert len(everything) == len(set(everything)) > len(top)
    assert set(deep) < set(everything)


def test_key_names(repo):
    assert repo.key_names(INTEROP, "CIM_IndicationFilter") == [
        "SystemCreationClassName", "SystemName", "CreationClassName", "Name"]
    assert repo.key_names(INTEROP, "cim_indicationsubscription") == ["Filter", "Handler"]
    assert set(repo.key_names(INTEROP, "CIM_Namespace")) == {
        "SystemCreationClassName", "SystemName", "ObjectManagerCreationClassName",
        "ObjectManagerName", "CreationClassName", "Name"}
    assert set(repo.key_names(V2, "CIM_ComputerSystem")) == {"CreationClassName", "Name"}
    assert repo.key_names(V2, "CIM_ConcreteJob") == ["InstanceID"]


def test_inherited_members_carry_class_origin_and_propagated(repo):
    cls = repo.get_class(V2, "CIM_ComputerSystem")
    caption = cls.properties["Caption"]
    assert caption.propagated and caption.class_origin == "CIM_ManagedElement"
    dedicated = cls.properties["Dedicated"]
    assert not dedicated.propagated and dedicated.class_origin == "CIM_ComputerSystem"
    rsc = cls.methods["RequestStateChange"]
    assert rsc.propagated and rsc.class_origin == "CIM_EnabledLogicalElement"
    # An override is the subclass's own element, not a propagated one.
    name_format = cls.properties["NameFormat"]
    assert not name_format.propagated and name_format.class_origin == "CIM_ComputerSystem"
    assert "Override" in name_format.qualifiers
    assert name_format.qualifiers["MaxLen"].propagated  # inherited ToSubclass


def test_restricted_qualifiers_do_not_flow_to_subclasses(repo):
    system = repo.get_class(V2, "CIM_System")
    assert system.properties["Name"].qualifiers["Override"].value == "Name"
    computer = repo.get_class(V2, "CIM_ComputerSystem")
    assert "Override" not in computer.properties["Name"].qualifiers
    assert computer.properties["Name"].qualifiers["Key"].value is True
    assert "Abstract" in system.qualifiers and "Abstract" not in computer.qualifiers


def test_enabled_logical_element_request_state_change(repo):
    method = repo.method(V2, "cim_enabledlogicalelement", "requeststatechange")
    assert method.name == "RequestStateChange" and method.return_type == "uint32"
    params = method.parameters
    assert list(params) == ["RequestedState", "Job", "TimeoutPeriod"]
    assert params["RequestedState"].type == "uint16"
    assert params["RequestedState"].qualifiers["In"].value is True
    assert params["Job"].type == "reference"
    assert params["Job"].reference_class == "CIM_ConcreteJob"
    assert params["Job"].qualifiers["Out"].value is True
    assert params["Job"].qualifiers["In"].value is False
    assert params["TimeoutPeriod"].type == "datetime"
    vm = dict(zip(method.qualifiers["ValueMap"].value, method.qualifiers["Values"].value))
    assert vm["4096"] == "Method Parameters Checked - Job Started"


def test_concrete_job_methods(repo):
    get_error = repo.method(V2, "CIM_ConcreteJob", "GetError")
    error = get_error.parameters["Error"]
    assert error.type == "string" and error.qualifiers["EmbeddedInstance"].value == "CIM_Error"
    assert error.embedded_object == "instance"
    rsc = repo.method(V2, "CIM_ConcreteJob", "RequestStateChange")
    assert list(rsc.parameters) == ["RequestedState", "TimeoutPeriod"]


def test_unknown_method_is_method_not_found(repo):
    with pytest.raises(CIMError) as exc:
        repo.method(V2, "CIM_ComputerSystem", "Explode")
    assert exc.value.status_code == CIM_ERR_METHOD_NOT_FOUND


def test_registered_organization_maps_2_to_dmtf(repo):
    prop = repo.get_class(INTEROP, "CIM_RegisteredProfile").properties["RegisteredOrganization"]
    assert prop.type == "uint16"
    mapping = dict(zip(prop.qualifiers["ValueMap"].value, prop.qualifiers["Values"].value))
    assert mapping["2"] == "DMTF"
    assert mapping["11"] == "SNIA"
    assert mapping["1"] == "Other"


def test_association_queries(repo):
    assert repo.is_association(INTEROP, "CIM_IndicationSubscription")
    assert repo.is_association(V2, "cim_systemdevice")
    assert not repo.is_association(V2, "CIM_ComputerSystem")
    assert repo.is_indication(V2, "CIM_InstModification")
    assert repo.is_abstract(V2, "CIM_ManagedElement")
    refs = repo.reference_properties(INTEROP, "CIM_IndicationSubscription")
    assert [(p.name, p.reference_class) for p in refs] == [
        ("Filter", "CIM_ManagedElement"), ("Handler", "CIM_ListenerDestination")]
    pairs = repo.associations_for(INTEROP, "CIM_ListenerDestinationCIMXML")
    assert ("CIM_IndicationSubscription", "Handler") in pairs
    assert ("CIM_IndicationSubscription", "Filter") in pairs  # Filter is a CIM_ManagedElement
    assert "CIM_IndicationSubscription" in repo.association_classes(INTEROP)


def test_qualifier_declarations(repo):
    key = repo.get_qualifier(V2, "key")
    assert key.name == "Key" and key.type == "boolean"
    assert key.overridable is False and key.tosubclass is True
    assert repo.get_qualifier(V2, "Override").tosubclass is False
    with pytest.raises(CIMError) as exc:
        repo.get_qualifier(V2, "NoSuchQualifier")
    assert exc.value.status_code == CIM_ERR_NOT_FOUND


def test_copy_class_is_private(repo):
    copy = repo.copy_class(V2, "CIM_ComputerSystem")
    del copy.properties["Caption"]
    assert "Caption" in repo.get_class(V2, "CIM_ComputerSystem").properties
