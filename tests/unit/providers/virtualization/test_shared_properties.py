"""Kept instances share their common property objects and say exactly
what they said before: the same CIM-XML, each VM's own values its own,
and the property set in place on each read never shared."""

from __future__ import annotations

from pywbem import CIMInstance, CIMInstanceName, CIMProperty, Uint16, Uint32, Uint64

from cimprovider.providers.virtualization import shared_properties
from cimprovider.providers.virtualization.shared_properties import PropertySharing


def vm_instance(name: str, state: int, on_time: int = 0) -> CIMInstance:
    path = CIMInstanceName("Msvm_ComputerSystem", {"CreationClassName": "Msvm_ComputerSystem", "Name": name})
    return CIMInstance("Msvm_ComputerSystem", path=path, properties=[
        CIMProperty("Name", name),
        CIMProperty("Caption", "Virtual Machine"),
        CIMProperty("EnabledState", Uint16(state)),
        CIMProperty("OperationalStatus", [Uint16(2)]),
        CIMProperty("InstallDate", None, type="datetime"),
        CIMProperty("OnTimeInMilliseconds", Uint64(on_time)),
    ])


def test_common_properties_are_one_object_and_the_xml_is_unchanged() -> None:
    sharing = PropertySharing(moving=frozenset({"OnTimeInMilliseconds"}))
    a, b = vm_instance("A", 2), vm_instance("B", 2)
    xml = [a.tocimxmlstr(), b.tocimxmlstr()]
    sharing.compact(a), sharing.compact(b)
    assert [a.tocimxmlstr(), b.tocimxmlstr()] == xml
    for name in ("Caption", "EnabledState", "OperationalStatus", "InstallDate"):
        assert a.properties[name] is b.properties[name], name
    assert a.properties["Name"] is not b.properties["Name"]
    assert a.properties["OnTimeInMilliseconds"] is not b.properties["OnTimeInMilliseconds"]


def test_values_equal_as_integers_but_of_other_types_are_not_shared() -> None:
    sharing = PropertySharing()
    a = CIMInstance("X", properties=[CIMProperty("P", Uint16(2))])
    b = CIMInstance("X", properties=[CIMProperty("P", Uint32(2))])
    sharing.compact(a), sharing.compact(b)
    assert b.properties["P"].type == "uint32" and b.properties["P"] is not a.properties["P"]


def test_a_property_with_many_values_stops_being_shared_at_the_limit() -> None:
    sharing = PropertySharing()
    kept = [sharing.compact(vm_instance(f"VM{i}", 2)) for i in range(shared_properties.LIMIT + 5)]
    assert len({id(k.properties["Name"]) for k in kept}) == len(kept)
    assert len(sharing._table) <= shared_properties.LIMIT + 5  # Name's first LIMIT values, and the common ones
    assert [k["Name"] for k in kept] == [f"VM{i}" for i in range(len(kept))]
