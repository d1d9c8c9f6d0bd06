"""shape_class: the DSP0200 GetClass/EnumerateClasses parameters."""

from __future__ import annotations

from cimprovider.repository import shape_class

V2 = "root/virtualization/v2"


def shaped(repo, classname="CIM_ComputerSystem", *, local_only=False, include_qualifiers=True,
           include_class_origin=True, property_list=None):
    return shape_class(repo.get_class(V2, classname), local_only=local_only,
                       include_qualifiers=include_qualifiers,
                       include_class_origin=include_class_origin,
                       property_list=property_list)


def test_full_view_keeps_everything(repo):
    full = repo.get_class(V2, "CIM_ComputerSystem")
    view = shaped(repo)
    assert view == full
    assert view is not full


def test_local_only_drops_inherited_members_but_keeps_overrides(repo):
    view = shaped(repo, local_only=True)
    assert "Caption" not in view.properties
    assert "RequestStateChange" not in view.methods
    assert {"NameFormat", "Dedicated", "OtherDedicatedDescriptions"} <= set(view.properties)
    # Inherited qualifiers of an overridden property are not local either.
    assert "MaxLen" not in view.properties["NameFormat"].qualifiers
    assert "Override" in view.properties["NameFormat"].qualifiers


def test_local_only_on_a_method_class(repo):
    view = shaped(repo, "CIM_EnabledLogicalElement", local_only=True)
    assert list(view.methods) == ["RequestStateChange"]
    assert "EnabledState" in view.properties and "Name" not in view.properties


def test_without_qualifiers_nothing_carries_a_qualifier(repo):
    view = shaped(repo, "CIM_EnabledLogicalElement", include_qualifiers=False)
    assert not view.qualifiers
    assert all(not p.qualifiers for p in view.properties.values())
    for method in view.methods.values():
        assert not method.qualifiers
        assert all(not p.qualifiers for p in method.parameters.values())
    # The property set is unchanged.
    assert set(view.properties) == set(repo.get_class(V2, "CIM_EnabledLogicalElement").properties)


def test_embedded_object_survives_without_qualifiers(repo):
    view = shaped(repo, "CIM_InstModification", include_qualifiers=False)
    assert view.properties["SourceInstance"].embedded_object == "object"


def test_class_origin_on_request(repo):
    with_origin = shaped(repo, include_class_origin=True)
    assert with_origin.properties["Caption"].class_origin == "CIM_ManagedElement"
    assert with_origin.methods["RequestStateChange"].class_origin == "CIM_EnabledLogicalElement"
    without = shaped(repo, include_class_origin=False)
    assert all(p.class_origin is None for p in without.properties.values())
    assert all(m.class_origin is None for m in without.methods.values())


def test_property_list_selects_case_insensitively(repo):
    view = shaped(repo, property_list=["name", "ELEMENTNAME", "NoSuchProperty"])
    assert list(view.properties) == ["ElementName", "Name"]
    assert "RequestStateChange" in view.methods
    assert shaped(repo, property_list=[]).properties == {}


def test_property_list_and_local_only_combine(repo):
    view = shaped(repo, local_only=True, property_list=["Name", "Dedicated"])
    assert list(view.properties) == ["Dedicated"]


def test_shaping_does_not_change_the_repository(repo):
    before = repo.copy_class(V2, "CIM_ComputerSystem")
    view = shaped(repo, local_only=True, include_qualifiers=False, include_class_origin=False)
    view.properties["Dedicated"].value = [2]
    view.qualifiers["Description"] = "x"
    assert repo.get_class(V2, "CIM_ComputerSystem") == before
