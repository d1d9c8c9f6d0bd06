"""Every shipped MOF file compiles, in its place in each namespace."""

from __future__ import annotations

import pytest

from cimprovider.repository import NAMESPACE_FILES, ClassRepository, SchemaCompileError
from cimprovider.repository.compiler import compile_schema, default_mof_dir

INTEROP = "root/interop"
V2 = "root/virtualization/v2"


def test_every_mof_file_is_in_the_manifest():
    mof_dir = default_mof_dir()
    shipped = {p.relative_to(mof_dir).as_posix() for p in mof_dir.rglob("*.mof")}
    listed = {rel for files in NAMESPACE_FILES.values() for rel in files}
    assert shipped - listed == set(), "MOF files that no namespace compiles"
    assert listed - shipped == set(), "manifest names missing files"


PREFIXES = [
    pytest.param(ns, i, id=f"{ns}:{files[i]}")
    for ns, files in NAMESPACE_FILES.items()
    for i in range(len(files))
]


@pytest.mark.parametrize(("namespace", "upto"), PREFIXES)
def test_each_file_compiles_after_its_predecessors(namespace, upto):
    files = NAMESPACE_FILES[namespace][: upto + 1]
    schema = compile_schema(default_mof_dir(), {namespace: files})
    assert schema.namespaces[namespace].qualifiers


def test_a_broken_file_is_named_in_the_error(mof_copy):
    (mof_copy / "dmtf/jobs.mof").write_text("class CIM_Broken : CIM_NoSuchClass { };\n")
    with pytest.raises(SchemaCompileError, match="dmtf/jobs.mof"):
        ClassRepository.load(None, mof_dir=mof_copy)


def test_namespaces_are_the_manifest(repo):
    assert repo.namespaces() == [INTEROP, V2]
    assert set(NAMESPACE_FILES) == {INTEROP, V2}


@pytest.mark.parametrize("classname", [
    "CIM_Namespace", "CIM_ObjectManager", "CIM_RegisteredProfile",
    "CIM_ElementConformsToProfile", "CIM_ReferencedProfile",
    "CIM_IndicationService", "CIM_IndicationServiceCapabilities",
    "CIM_IndicationFilter", "CIM_ListenerDestinationCIMXML",
    "CIM_IndicationSubscription", "CIM_InstModification", "CIM_ComputerSystem",
])
def test_interop_holds_the_interop_classes(repo, classname):
    assert repo.has_class(INTEROP, classname)


def test_virtualization_holds_profiles_and_indications_but_not_subscriptions(repo):
    for name in ("CIM_RegisteredProfile", "CIM_ElementConformsToProfile",
                 "CIM_InstCreation", "CIM_InstModification", "CIM_InstDeletion",
                 "CIM_ResourceAllocationSettingData"):
        assert repo.has_class(V2, name), name
    for name in ("CIM_IndicationFilter", "CIM_IndicationSubscription",
                 "CIM_Namespace", "CIM_ObjectManager"):
        assert not repo.has_class(V2, name), name


def test_every_namespace_has_the_standard_qualifiers(repo):
    for ns in repo.namespaces():
        names = {q.name.lower() for q in repo.qualifiers(ns)}
        wanted = {"Abstract", "Association", "Description", "EmbeddedInstance",
                "EmbeddedObject", "Indication", "Key", "In", "Out", "Override",
                "ValueMap", "Values", "Version", "Write", "Deprecated",
                "Required", "ModelCorrespondence", "Units", "PUnit",
                "Experimental", "Propagated", "Static", "Weak",
                "Composition", "Aggregation", "Aggregate", "MappingStrings",
                "Expensive", "Octetstring", "Correlatable", "Exception",
                "Terminal", "UMLPackagePath", "Counter", "Gauge", "ArrayType",
                "Min", "Max", "MaxLen", "MinValue", "MaxValue", "IsPUnit"}
        assert {w.lower() for w in wanted} - names == set()
