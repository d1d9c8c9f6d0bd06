"""Object path text as clients write it, and loose path matching."""

from __future__ import annotations

import pytest
from pywbem import CIMClassName, CIMInstanceName

from cimprovider.query import (ObjectPathError, format_object_path, parse_object_path,
                               path_matches_text, paths_match)
from cimprovider.query.events import event_class_admits

VM = CIMInstanceName("Msvm_ComputerSystem", keybindings={
    "CreationClassName": "Msvm_ComputerSystem", "Name": "GUID"},
    namespace="root/virtualization/v2", host="HOST")
RASD = CIMInstanceName("Msvm_ResourceAllocationSettingData", keybindings={
    "InstanceID": "Microsoft:GUID\\guid\\0"}, namespace="root/virtualization/v2", host="HOST")


@pytest.mark.parametrize("text", [
    '\\\\HOST\\root\\virtualization\\v2:Msvm_ComputerSystem.CreationClassName='
    '"Msvm_ComputerSystem",Name="GUID"',
    '//HOST/root/virtualization/v2:Msvm_ComputerSystem.CreationClassName='
    '"Msvm_ComputerSystem",Name="GUID"',
    'root\\virtualization\\v2:Msvm_ComputerSystem.Name="GUID",CreationClassName='
    '"Msvm_ComputerSystem"',
    'MSVM_COMPUTERSYSTEM.NAME="guid",CREATIONCLASSNAME="MSVM_COMPUTERSYSTEM"',
    ' Msvm_ComputerSystem . Name = "GUID" , CreationClassName = "Msvm_ComputerSystem" ',
    # a raw \\HOST read as a WQL string loses one backslash
    '\\HOST\\root\\virtualization\\v2:Msvm_ComputerSystem.CreationClassName='
    '"Msvm_ComputerSystem",Name="GUID"',
])
def test_vm_path_forms_match(text: str) -> None:
    assert path_matches_text(VM, text)


@pytest.mark.parametrize("text", [
    'Msvm_ResourceAllocationSettingData.InstanceID="Microsoft:GUID\\\\guid\\\\0"',
    'Msvm_ResourceAllocationSettingData.InstanceID="Microsoft:GUID\\guid\\0"',
    '\\\\HOST\\root\\virtualization\\v2:Msvm_ResourceAllocationSettingData.InstanceID='
    '"Microsoft:GUID\\\\guid\\\\0"',
])
def test_escaped_and_raw_backslashes_in_keys_match(text: str) -> None:
    assert path_matches_text(RASD, text)


@pytest.mark.parametrize("text", [
    'Msvm_ComputerSystem.CreationClassName="Msvm_ComputerSystem",Name="OTHER"',
    'Msvm_ComputerSystem.Name="GUID"',
    'CIM_ComputerSystem.CreationClassName="Msvm_ComputerSystem",Name="GUID"',
    'root/cimv2:Msvm_ComputerSystem.CreationClassName="Msvm_ComputerSystem",Name="GUID"',
    'not a path',
])
def test_different_paths_do_not_match(text: str) -> None:
    assert not path_matches_text(VM, text)


def test_parse_forms() -> None:
    assert parse_object_path("Msvm_ComputerSystem=@") == CIMInstanceName("Msvm_ComputerSystem")
    assert parse_object_path("root/cimv2:CIM_Foo") == CIMClassName("CIM_Foo",
                                                                   namespace="root/cimv2")
    path = parse_object_path('X.a=5,b=-0x10,c=TRUE,d=1.5,e="q\\"uote"')
    assert dict(path.keybindings) == {"a": 5, "b": -16, "c": True, "d": 1.5, "e": 'q"uote'}
    assert parse_object_path('//h.example.com/interop:X.k="v"').host == "h.example.com"


@pytest.mark.parametrize("text", ["", ".k=1", "X.k=", "X.k", 'X.k="v', "X.k=1;j=2", "X=5"])
def test_bad_paths(text: str) -> None:
    with pytest.raises(ObjectPathError):
        parse_object_path(text)


def test_format_round_trip() -> None:
    for path in (VM, RASD, CIMInstanceName("X"), CIMClassName("Y", namespace="root/x")):
        assert parse_object_path(format_object_path(path)) == path


def test_reference_keys_compare_as_paths() -> None:
    assoc = CIMInstanceName("Msvm_AffectedJobElement", keybindings={
        "AffectedElement": VM, "AffectingElement": RASD})
    text_form = CIMInstanceName("Msvm_AffectedJobElement", keybindings={
        "AffectingElement": format_object_path(RASD),
        "AffectedElement": 'Msvm_ComputerSystem.Name="GUID",CreationClassName='
                           '"Msvm_ComputerSystem"'})
    assert paths_match(assoc, text_form)


def test_event_classes_of_both_shapes() -> None:
    assert event_class_admits("__InstanceModificationEvent", "CIM_InstModification")
    assert event_class_admits("CIM_InstModification", "__InstanceModificationEvent")
    assert event_class_admits("__InstanceOperationEvent", "CIM_InstDeletion")
    assert event_class_admits("CIM_InstIndication", "__InstanceCreationEvent")
    assert not event_class_admits("__InstanceCreationEvent", "CIM_InstDeletion")
    assert event_class_admits("Msvm_ComputerSystem", "CIM_ComputerSystem") is None
