"""Projection, DISTINCT and ORDER BY over selected instances."""

from __future__ import annotations

from pywbem import CIMInstance

from cimprovider.query import parse_query

from .model import CONTEXT, MODEL

SYSTEMS = [MODEL[label] for label in ("host", "vm1", "vm2", "vm3", "switch1")]


def test_star_keeps_every_property_and_the_path() -> None:
    vm1 = MODEL["vm1"]
    projected = parse_query("WQL", "SELECT * FROM Msvm_ComputerSystem").project(vm1, CONTEXT)
    assert projected == vm1 and projected is not vm1


def test_select_list_keeps_named_properties_only() -> None:
    query = parse_query("WQL", "SELECT elementname, Name, __PATH FROM Msvm_ComputerSystem")
    projected = query.project(MODEL["vm1"], CONTEXT)
    assert sorted(projected.properties) == ["ElementName", "Name"]
    assert projected.path == MODEL["vm1"].path
    assert "EnabledState" in MODEL["vm1"].properties  # the original is untouched


def test_embedded_selection_prunes_the_embedded_instance() -> None:
    event = MODEL["ev_mod_vm1"]
    query = parse_query("DMTF:CQL", "SELECT SourceInstance.ElementName, PreviousInstance "
                                    "FROM CIM_InstModification")
    projected = query.project(event, CONTEXT)
    assert sorted(projected.properties) == ["PreviousInstance", "SourceInstance"]
    assert list(projected.properties["SourceInstance"].value.properties) == ["ElementName"]
    assert len(event.properties["SourceInstance"].value.properties) > 1


def test_wmi_event_select_list_on_a_dmtf_indication() -> None:
    query = parse_query("WQL", "SELECT EnabledState, TargetInstance FROM "
                               "__InstanceModificationEvent")
    projected = query.project(MODEL["ev_mod_vm1"], CONTEXT)
    assert list(projected.properties) == ["SourceInstance"]


def test_alias_star_keeps_everything() -> None:
    query = parse_query("DMTF:CQL", "SELECT cs.* FROM CIM_ComputerSystem AS cs")
    assert query.project(MODEL["vm2"], CONTEXT) == MODEL["vm2"]


def test_order_by_descending_with_nulls_first_when_ascending() -> None:
    query = parse_query("DMTF:CQL", "SELECT ElementName FROM CIM_ComputerSystem "
                                    "ORDER BY EnabledState DESC, ElementName")
    names = [i.properties["ElementName"].value for i in query.execute(SYSTEMS, CONTEXT)]
    assert names == ["it's_50%", "External Switch", "db-02", "WIN-HOST", "web01"]
    query = parse_query("DMTF:CQL", "SELECT Description FROM Msvm_ComputerSystem "
                                    "ORDER BY Description")
    values = [i.properties["Description"].value for i in query.execute(SYSTEMS, CONTEXT)]
    assert values[0] is None and values[1:] == sorted(values[1:])


def test_distinct_drops_equal_projections() -> None:
    query = parse_query("DMTF:CQL", "SELECT DISTINCT Caption FROM Msvm_ComputerSystem")
    captions = [i.properties["Caption"].value for i in query.execute(SYSTEMS, CONTEXT)]
    assert sorted(captions) == ["Hosting Computer System", "Virtual Machine"]


def test_execute_filters_by_class_and_where() -> None:
    query = parse_query("WQL", "SELECT Name FROM Msvm_ComputerSystem WHERE EnabledState = 2")
    result = query.execute(MODEL.values(), CONTEXT)
    assert all(isinstance(i, CIMInstance) for i in result)
    assert sorted(i.path.keybindings["Name"] for i in result) == sorted(
        [MODEL["host"].path.keybindings["Name"], MODEL["vm1"].path.keybindings["Name"]])
