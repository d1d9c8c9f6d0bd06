"""What the engine adds around the query languages: pushdown to providers,
FilterQuery on pull operations, language and class errors, hostile
queries."""

from __future__ import annotations

import pytest
import pywbem
from pywbem import CIMError

from tests.unit.query.model import GUID1, NAMESPACE


@pytest.fixture
def conn(model_server):
    return model_server.connection(NAMESPACE)


def test_query_for_one_vm_builds_only_that_vm(model_server, conn):
    provider = model_server.providers["Msvm_ComputerSystem"]
    provider.served = 0
    result = conn.ExecQuery("WQL", f"SELECT * FROM Msvm_ComputerSystem WHERE Name = '{GUID1}'")
    assert [i["Name"] for i in result] == [GUID1]
    assert provider.served == 1


def test_query_projects_the_select_list(conn):
    result = conn.ExecQuery("WQL", f"SELECT ElementName FROM Msvm_ComputerSystem WHERE Name = '{GUID1}'")
    assert list(result[0].properties) == ["ElementName"]
    assert result[0].path.keybindings["Name"] == GUID1


def test_filter_query_on_open_enumerate_instances(conn):
    result = conn.OpenEnumerateInstances(
        "Msvm_ComputerSystem",
        FilterQueryLanguage="DMTF:CQL",
        FilterQuery=f"SELECT * FROM Msvm_ComputerSystem WHERE Name = '{GUID1}'",
        MaxObjectCount=100,
    )
    assert [i["Name"] for i in result.instances] == [GUID1]


def test_fql_filter_query(conn):
    result = conn.OpenEnumerateInstances(
        "Msvm_ComputerSystem", FilterQueryLanguage="DMTF:FQL", FilterQuery=f"Name = '{GUID1}'", MaxObjectCount=100
    )
    assert [i["Name"] for i in result.instances] == [GUID1]


def test_a_filter_query_reads_properties_the_property_list_leaves_out(conn):
    """The filter sees whole instances; the PropertyList shapes what passes."""
    result = conn.OpenEnumerateInstances(
        "Msvm_ComputerSystem", FilterQueryLanguage="DMTF:FQL", FilterQuery="EnabledState = 2",
        PropertyList=["ElementName"], MaxObjectCount=100,
    )
    shown = {i.path.keybindings["Name"]: {k: v.value for k, v in i.properties.items()} for i in result.instances}
    assert shown == {"WIN-HOST": {"ElementName": "WIN-HOST"}, GUID1: {"ElementName": "web01"}}  # the host runs too
    vm = next(i.path for i in result.instances if i.path.keybindings["Name"] == GUID1)
    result = conn.OpenAssociatorInstances(
        vm, AssocClass="Msvm_AffectedJobElement", FilterQueryLanguage="DMTF:FQL", FilterQuery="JobState = 4",
        PropertyList=["ElementName"], MaxObjectCount=100,
    )
    assert [{k: v.value for k, v in i.properties.items()} for i in result.instances] == [{"ElementName": "Creating snapshot"}]


def test_iter_query_instances_as_pywbem_users_call_it(model_server):
    conn = model_server.connection(NAMESPACE, use_pull_operations=None)
    rows = list(conn.IterQueryInstances("WQL", "SELECT * FROM Msvm_ComputerSystem").generator)
    assert len(rows) == 4


def test_query_result_class(conn):
    result = conn.OpenQueryInstances(
        "DMTF:CQL", "SELECT ElementName FROM Msvm_ComputerSystem", ReturnQueryResultClass=True, MaxObjectCount=10
    )
    assert list(result.query_result_class.properties) == ["ElementName"]


def test_unknown_language_is_14(conn):
    with pytest.raises(CIMError) as err:
        conn.ExecQuery("SQL", "SELECT * FROM Msvm_ComputerSystem")
    assert err.value.status_code == pywbem.CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED


def test_unknown_class_is_5(conn):
    with pytest.raises(CIMError) as err:
        conn.ExecQuery("WQL", "SELECT * FROM Msvm_Nothing")
    assert err.value.status_code == pywbem.CIM_ERR_INVALID_CLASS


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM Msvm_ComputerSystem WHERE Name = 'unterminated",
        "SELECT * FROM Msvm_ComputerSystem WHERE " + "(" * 10_000 + "Name = 'x'" + ")" * 10_000,
        "SELECT * FROM Msvm_ComputerSystem WHERE Name = '" + "x" * (1 << 20) + "'",
        "SELECT * FROM Msvm_ComputerSystem WHERE Name FROBNICATES 'x'",
    ],
    ids=["unterminated", "nested-parentheses", "one-megabyte", "unknown-keyword"],
)
def test_hostile_queries_are_15_and_the_server_goes_on(conn, text):
    with pytest.raises(CIMError) as err:
        conn.ExecQuery("WQL", text)
    assert err.value.status_code == pywbem.CIM_ERR_INVALID_QUERY
    assert len(conn.ExecQuery("WQL", "SELECT * FROM Msvm_ComputerSystem")) == 4


def test_associators_of_a_vm_finds_its_job(conn):
    # As os-win finds the job that affects a VM, through ASSOCIATORS OF.
    text = (
        "ASSOCIATORS OF {Msvm_ComputerSystem.CreationClassName=\"Msvm_ComputerSystem\","
        f"Name=\"{GUID1}\"}} WHERE AssocClass = Msvm_AffectedJobElement ResultClass = Msvm_ConcreteJob"
    )
    result = conn.ExecQuery("WQL", text)
    assert [i["ElementName"] for i in result] == ["Creating snapshot"]


def test_references_of_a_vm_keys_only(conn):
    text = (
        "REFERENCES OF {Msvm_ComputerSystem.CreationClassName=\"Msvm_ComputerSystem\","
        f"Name=\"{GUID1}\"}} WHERE ResultClass = Msvm_AffectedJobElement KeysOnly"
    )
    result = conn.ExecQuery("WQL", text)
    assert [i.classname for i in result] == ["Msvm_AffectedJobElement"]


@pytest.mark.parametrize(("language", "query", "named"), [
    ("WQL", "SELECT * FROM Msvm_ComputerSystem WHERE ElemntName = 'vm1'", "ElemntName"),
    ("WQL", "SELECT * FROM Msvm_ComputerSystem WHERE Name = 'x' OR NOT (HealthStat = 5)", "HealthStat"),
    ("DMTF:CQL", "SELECT * FROM Msvm_ComputerSystem AS cs WHERE cs.Nam = 'x'", "Nam"),
])
def test_a_where_naming_a_property_the_class_lacks_is_an_invalid_query(conn, language, query, named):
    """As WMI answers it: matching nothing would hide the misspelling."""
    with pytest.raises(CIMError) as raised:
        conn.ExecQuery(language, query)
    assert raised.value.status_code == pywbem.CIM_ERR_INVALID_QUERY
    assert raised.value.status_description == f"Msvm_ComputerSystem and its subclasses have no property {named}"


def test_a_where_may_name_what_only_subclasses_or_the_system_have(conn):
    """FROM is polymorphic: a subclass's property, a system property and a
    quantifier's variable are all names a WHERE may use."""
    assert conn.ExecQuery("WQL", f"SELECT * FROM CIM_ManagedElement WHERE Name = '{GUID1}' AND EnabledState = 2")
    assert conn.ExecQuery("WQL", "SELECT * FROM Msvm_ComputerSystem WHERE __CLASS = 'Msvm_ComputerSystem'")
    conn.ExecQuery("DMTF:CQL", "SELECT * FROM Msvm_ComputerSystem WHERE ANY s IN OperationalStatus SATISFIES (s = 2)")  # no error


def test_a_filter_query_naming_a_property_the_class_lacks_is_refused(conn):
    with pytest.raises(CIMError) as raised:
        conn.OpenEnumerateInstances("Msvm_ComputerSystem", FilterQueryLanguage="DMTF:CQL",
                                    FilterQuery="SELECT * FROM Msvm_ComputerSystem WHERE EnabledStat = 2", MaxObjectCount=10)
    assert raised.value.status_code == pywbem.CIM_ERR_INVALID_QUERY
    assert "no property EnabledStat" in raised.value.status_description
