"""Conditions handed to providers: only what the whole WHERE needs."""

from __future__ import annotations

import pytest
from pywbem import Uint16, Uint64

from cimprovider.query import Condition, parse_query

from .cases import CASES
from .model import CONTEXT, GUID1, MODEL


def _pushdown(text: str, language: str = "WQL"):
    return parse_query(language, text).pushdown()


def test_element_name_equality() -> None:
    pushdown = _pushdown("SELECT * FROM Msvm_ComputerSystem WHERE ElementName = 'web01'")
    assert pushdown.classname == "Msvm_ComputerSystem"
    assert pushdown.values_for("elementname") == ("web01",)
    assert pushdown.admits("ElementName", "WEB01")
    assert not pushdown.admits("ElementName", "db-02")


def test_key_equalities_from_a_conjunction() -> None:
    pushdown = _pushdown(f"SELECT * FROM Msvm_ComputerSystem WHERE Name = '{GUID1}' AND "
                         "'Msvm_ComputerSystem' = CreationClassName AND EnabledState > 2")
    assert pushdown.conditions == (Condition("Name", (GUID1,)),
                                   Condition("CreationClassName", ("Msvm_ComputerSystem",)))


def test_instance_id_prefix() -> None:
    pushdown = _pushdown(f"SELECT * FROM CIM_ResourceAllocationSettingData WHERE InstanceID "
                         f"LIKE 'Microsoft:{GUID1}%'")
    assert pushdown.prefix_for("InstanceID") == f"Microsoft:{GUID1}"
    assert pushdown.values_for("InstanceID") is None
    assert pushdown.admits("InstanceID", f"microsoft:{GUID1.lower()}\\x")
    assert not pushdown.admits("InstanceID", "Microsoft:Definition\\x\\Default")


def test_like_without_wildcards_is_equality() -> None:
    pushdown = _pushdown('SELECT * FROM Msvm_ResourceAllocationSettingData WHERE '
                         'ResourceSubType LIKE "Microsoft:Hyper-V:Synthetic Disk Drive" AND '
                         'InstanceID LIKE "%Default"')
    assert pushdown.values_for("ResourceSubType") == ("Microsoft:Hyper-V:Synthetic Disk Drive",)
    assert pushdown.prefix_for("InstanceID") is None


def test_or_of_equalities_on_one_property() -> None:
    pushdown = _pushdown("SELECT * FROM Msvm_ResourceAllocationSettingData WHERE "
                         "(ResourceSubType='a' OR ResourceSubType='b') AND Parent = 'p'")
    assert pushdown.values_for("ResourceSubType") == ("a", "b")
    assert pushdown.values_for("Parent") == ("p",)


@pytest.mark.parametrize("where", [
    "ElementName = 'a' OR Name = 'b'",
    "NOT ElementName = 'a'",
    "ElementName <> 'a'",
    "ElementName LIKE '%a'",
    "ElementName NOT LIKE 'a%'",
    "TargetInstance.Name = 'a'",
    "ElementName = Name",
    "ElementName = NULL",
])
def test_nothing_is_pushed_when_not_necessary(where: str) -> None:
    assert _pushdown(f"SELECT * FROM X WHERE {where}").conditions == ()


def test_wmi_quoted_numbers_are_admitted_loosely() -> None:
    pushdown = _pushdown("SELECT * FROM Msvm_VirtualSystemMigrationSettingData WHERE "
                         "MigrationType = '32770'")
    assert pushdown.admits("MigrationType", Uint16(32770))
    assert not pushdown.admits("MigrationType", Uint16(32768))
    assert _pushdown("SELECT * FROM X WHERE V = '4096'").admits("V", Uint64(4096))


def test_path_equality() -> None:
    ide = MODEL["ide1"]
    text = ide.properties["InstanceID"].value.replace("\\", "\\\\")
    pushdown = _pushdown("SELECT * FROM Msvm_ResourceAllocationSettingData WHERE __PATH = "
                         f"'Msvm_ResourceAllocationSettingData.InstanceID=\"{text}\"'")
    assert len(pushdown.paths) == 1
    assert pushdown.paths[0].keybindings["InstanceID"] == ide.properties["InstanceID"].value


def test_cql_alias_and_in_list() -> None:
    pushdown = _pushdown("SELECT * FROM CIM_ComputerSystem AS cs WHERE cs.Name IN ('a', 'b') "
                         "AND cs.ElementName LIKE 'web.*'", "DMTF:CQL")
    assert pushdown.values_for("Name") == ("a", "b")
    assert pushdown.prefix_for("ElementName") == "web"
    assert not pushdown.fold and not pushdown.admits("ElementName", "WEB01")


@pytest.mark.parametrize("case", [c for c in CASES if c.selects is not None], ids=lambda c: c.id)
def test_pushdown_never_rejects_a_selected_instance(case) -> None:
    query = parse_query(case.language, case.text)
    pushdown = query.pushdown()
    for label in case.selects:
        instance = MODEL[label]
        for condition in pushdown.conditions:
            prop = instance.properties.get(condition.property)
            assert pushdown.admits(condition.property, prop.value if prop else None), label
        assert query.matches(instance, CONTEXT)
