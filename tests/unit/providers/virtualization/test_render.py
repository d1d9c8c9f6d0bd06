"""The renderer assembles instances without pywbem's per-property checks;
what it builds must equal what pywbem's own constructors build."""

from __future__ import annotations

from pywbem import CIMInstance, CIMInstanceName, CIMProperty, Uint16, Uint64

from cimprovider.providers.virtualization.render import Renderer
from cimprovider.repository import ClassRepository, default_cache_dir


def test_rendered_instance_equals_pywbem_construction(tmp_path):
    renderer = Renderer(ClassRepository.load(cache_dir=default_cache_dir()))
    values = {
        "CreationClassName": "Msvm_ComputerSystem",
        "Name": "6B7C1D8E-3F4A-4C2B-9D1E-0A1B2C3D4E5F",
        "ElementName": "web01",
        "EnabledState": 2,  # a plain int is typed from the declaration
        "OperationalStatus": [Uint16(2)],
        "OnTimeInMilliseconds": Uint64(1234),
    }
    rendered = renderer.instance("Msvm_ComputerSystem", values)
    cls = renderer.repository.get_class("root/virtualization/v2", "Msvm_ComputerSystem")
    expected = CIMInstance(
        "Msvm_ComputerSystem",
        properties=[
            CIMProperty(p.name, values.get(p.name), type=p.type, is_array=p.is_array,
                        reference_class=p.reference_class, embedded_object=p.embedded_object)
            for p in cls.properties.values()
        ],
        path=CIMInstanceName(
            "Msvm_ComputerSystem",
            {"CreationClassName": "Msvm_ComputerSystem", "Name": values["Name"]},
            namespace="root/virtualization/v2",
        ),
    )
    assert rendered == expected
    assert isinstance(rendered["EnabledState"], Uint16) and rendered["EnabledState"] == 2
    assert rendered.tomof() == expected.tomof()
    assert rendered.properties["ElementName"].qualifiers == {}


def test_property_list_builds_only_what_is_kept(tmp_path):
    renderer = Renderer(ClassRepository.load(cache_dir=default_cache_dir()))
    values = {"CreationClassName": "Msvm_ComputerSystem", "Name": "X", "ElementName": "web01"}
    rendered = renderer.instance("Msvm_ComputerSystem", values, keep=frozenset({"elementname"}))
    assert list(rendered.properties) == ["ElementName"]
    assert rendered.path.keybindings["Name"] == "X"


def test_rendered_instance_behaves_as_a_pywbem_instance(tmp_path):
    renderer = Renderer(ClassRepository.load(cache_dir=default_cache_dir()))
    values = {"CreationClassName": "Msvm_ComputerSystem", "Name": "AB", "ElementName": "web01"}
    rendered = renderer.instance("Msvm_ComputerSystem", values)
    assert rendered["elementname"] == "web01" and "ELEMENTNAME" in rendered.properties
    rendered["ElementName"] = "renamed"  # still a working, case-insensitive dict
    assert rendered.properties["elementname"].value == "renamed"
    assert rendered.path["name"] == "AB" and rendered.path == CIMInstanceName(
        "Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem", "Name": "AB"}, namespace="root/virtualization/v2"
    )
    assert hash(rendered.path) == hash(rendered.path.copy())
    assert list(rendered.properties)[0] == "InstanceID" or "InstanceID" in rendered.properties
