"""The DSP0200 1.4 intrinsic methods as a table: their IPARAMVALUEs with
DSP0200 types, which are required, and how each answers on the wire.

Both the parser (parameter names and types) and the writer (the form of
IRETURNVALUE) read this table, so an operation exists in one place only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """The DSP0200 type of an IPARAMVALUE, as the element it arrives in."""

    BOOLEAN = "boolean"  # VALUE TRUE/FALSE
    UINT32 = "uint32"  # VALUE, non-negative decimal
    STRING = "string"  # VALUE
    STRING_ARRAY = "string[]"  # VALUE.ARRAY (PropertyList)
    CLASSNAME = "className"  # CLASSNAME → str
    INSTANCENAME = "instanceName"  # INSTANCENAME → CIMInstanceName
    OBJECTNAME = "objectName"  # INSTANCENAME or CLASSNAME → CIMInstanceName / CIMClassName
    INSTANCE = "instance"  # INSTANCE → CIMInstance without path
    NAMED_INSTANCE = "namedInstance"  # VALUE.NAMEDINSTANCE → CIMInstance with path
    CLASS = "class"  # CLASS → CIMClass
    QUALIFIER_DECLARATION = "qualifierDecl"  # QUALIFIER.DECLARATION
    PROPERTY_VALUE = "propertyValue"  # VALUE | VALUE.ARRAY | VALUE.REFERENCE, untyped


class Answer(Enum):
    """What IRETURNVALUE holds in the response."""

    VOID = "void"  # no IRETURNVALUE at all
    CLASS = "CLASS"
    CLASSES = "CLASS*"
    CLASSNAMES = "CLASSNAME*"
    INSTANCE = "INSTANCE"
    NAMED_INSTANCES = "VALUE.NAMEDINSTANCE*"
    INSTANCENAMES = "INSTANCENAME*"
    INSTANCENAME = "INSTANCENAME"
    PROPERTY_VALUE = "VALUE|VALUE.ARRAY|VALUE.REFERENCE"
    OBJECTS_WITH_PATH = "VALUE.OBJECTWITHPATH*"
    OBJECT_PATHS = "OBJECTPATH*"
    INSTANCES_WITH_PATH = "VALUE.INSTANCEWITHPATH*"  # pull, with out params
    INSTANCE_PATHS = "INSTANCEPATH*"  # pull, with out params
    INSTANCES = "INSTANCE*"  # pull (query results), with out params
    COUNT = "VALUE(uint64)"
    QUALIFIER_DECLARATION = "QUALIFIER.DECLARATION"
    QUALIFIER_DECLARATIONS = "QUALIFIER.DECLARATION*"


@dataclass(frozen=True, slots=True)
class Intrinsic:
    name: str
    params: dict[str, Kind]
    required: frozenset[str]
    answer: Answer


B, U, S, SA = Kind.BOOLEAN, Kind.UINT32, Kind.STRING, Kind.STRING_ARRAY
CN, IN, ON = Kind.CLASSNAME, Kind.INSTANCENAME, Kind.OBJECTNAME

_PULL_FILTER = {"FilterQueryLanguage": S, "FilterQuery": S, "OperationTimeout": U, "ContinueOnError": B, "MaxObjectCount": U}
# LocalOnly and IncludeQualifiers were dropped from the Open* operations in
# DSP0200 1.4, but pywbem still sends them when a caller passes them.
_PULL_LEGACY = {"LocalOnly": B, "IncludeQualifiers": B}
_ASSOC_FILTER = {"AssocClass": CN, "ResultClass": CN, "Role": S, "ResultRole": S}
_REF_FILTER = {"ResultClass": CN, "Role": S}
_CONTEXT = {"EnumerationContext": S, "MaxObjectCount": U}


def _op(name: str, answer: Answer, required: tuple[str, ...] = (), **params: Kind) -> Intrinsic:
    return Intrinsic(name, dict(params), frozenset(required), answer)


_TABLE = [
    _op("GetClass", Answer.CLASS, ("ClassName",), ClassName=CN, LocalOnly=B, IncludeQualifiers=B,
        IncludeClassOrigin=B, PropertyList=SA),
    _op("EnumerateClasses", Answer.CLASSES, (), ClassName=CN, DeepInheritance=B, LocalOnly=B,
        IncludeQualifiers=B, IncludeClassOrigin=B),
    _op("EnumerateClassNames", Answer.CLASSNAMES, (), ClassName=CN, DeepInheritance=B),
    _op("CreateClass", Answer.VOID, ("NewClass",), NewClass=Kind.CLASS),
    _op("ModifyClass", Answer.VOID, ("ModifiedClass",), ModifiedClass=Kind.CLASS),
    _op("DeleteClass", Answer.VOID, ("ClassName",), ClassName=CN),
    _op("GetQualifier", Answer.QUALIFIER_DECLARATION, ("QualifierName",), QualifierName=S),
    _op("SetQualifier", Answer.VOID, ("QualifierDeclaration",), QualifierDeclaration=Kind.QUALIFIER_DECLARATION),
    _op("DeleteQualifier", Answer.VOID, ("QualifierName",), QualifierName=S),
    _op("EnumerateQualifiers", Answer.QUALIFIER_DECLARATIONS),
    _op("GetInstance", Answer.INSTANCE, ("InstanceName",), InstanceName=IN, LocalOnly=B, IncludeQualifiers=B,
        IncludeClassOrigin=B, PropertyList=SA),
    _op("EnumerateInstances", Answer.NAMED_INSTANCES, ("ClassName",), ClassName=CN, LocalOnly=B,
        DeepInheritance=B, IncludeQualifiers=B, IncludeClassOrigin=B, PropertyList=SA),
    _op("EnumerateInstanceNames", Answer.INSTANCENAMES, ("ClassName",), ClassName=CN),
    _op("CreateInstance", Answer.INSTANCENAME, ("NewInstance",), NewInstance=Kind.INSTANCE),
    _op("ModifyInstance", Answer.VOID, ("ModifiedInstance",), ModifiedInstance=Kind.NAMED_INSTANCE,
        IncludeQualifiers=B, PropertyList=SA),
    _op("DeleteInstance", Answer.VOID, ("InstanceName",), InstanceName=IN),
    _op("GetProperty", Answer.PROPERTY_VALUE, ("InstanceName", "PropertyName"), InstanceName=IN, PropertyName=S),
    _op("SetProperty", Answer.VOID, ("InstanceName", "PropertyName"), InstanceName=IN, PropertyName=S,
        NewValue=Kind.PROPERTY_VALUE),
    _op("Associators", Answer.OBJECTS_WITH_PATH, ("ObjectName",), ObjectName=ON, **_ASSOC_FILTER,
        IncludeQualifiers=B, IncludeClassOrigin=B, PropertyList=SA),
    _op("AssociatorNames", Answer.OBJECT_PATHS, ("ObjectName",), ObjectName=ON, **_ASSOC_FILTER),
    _op("References", Answer.OBJECTS_WITH_PATH, ("ObjectName",), ObjectName=ON, **_REF_FILTER,
        IncludeQualifiers=B, IncludeClassOrigin=B, PropertyList=SA),
    _op("ReferenceNames", Answer.OBJECT_PATHS, ("ObjectName",), ObjectName=ON, **_REF_FILTER),
    _op("ExecQuery", Answer.OBJECTS_WITH_PATH, ("QueryLanguage", "Query"), QueryLanguage=S, Query=S),
    _op("OpenEnumerateInstances", Answer.INSTANCES_WITH_PATH, ("ClassName",), ClassName=CN,
        DeepInheritance=B, IncludeClassOrigin=B, PropertyList=SA, **_PULL_FILTER, **_PULL_LEGACY),
    _op("OpenEnumerateInstancePaths", Answer.INSTANCE_PATHS, ("ClassName",), ClassName=CN, **_PULL_FILTER),
    _op("OpenAssociatorInstances", Answer.INSTANCES_WITH_PATH, ("InstanceName",), InstanceName=IN,
        **_ASSOC_FILTER, IncludeClassOrigin=B, PropertyList=SA, **_PULL_FILTER, **_PULL_LEGACY),
    _op("OpenAssociatorInstancePaths", Answer.INSTANCE_PATHS, ("InstanceName",), InstanceName=IN,
        **_ASSOC_FILTER, **_PULL_FILTER),
    _op("OpenReferenceInstances", Answer.INSTANCES_WITH_PATH, ("InstanceName",), InstanceName=IN,
        **_REF_FILTER, IncludeClassOrigin=B, PropertyList=SA, **_PULL_FILTER, **_PULL_LEGACY),
    _op("OpenReferenceInstancePaths", Answer.INSTANCE_PATHS, ("InstanceName",), InstanceName=IN,
        **_REF_FILTER, **_PULL_FILTER),
    _op("OpenQueryInstances", Answer.INSTANCES, ("FilterQueryLanguage", "FilterQuery"),
        ReturnQueryResultClass=B, **_PULL_FILTER),
    _op("PullInstancesWithPath", Answer.INSTANCES_WITH_PATH, ("EnumerationContext", "MaxObjectCount"), **_CONTEXT),
    _op("PullInstancePaths", Answer.INSTANCE_PATHS, ("EnumerationContext", "MaxObjectCount"), **_CONTEXT),
    _op("PullInstances", Answer.INSTANCES, ("EnumerationContext", "MaxObjectCount"), **_CONTEXT),
    _op("CloseEnumeration", Answer.VOID, ("EnumerationContext",), EnumerationContext=S),
    _op("EnumerationCount", Answer.COUNT, ("EnumerationContext",), EnumerationContext=S),
]

INTRINSICS: dict[str, Intrinsic] = {op.name: op for op in _TABLE}
_BY_LOWER = {name.lower(): op for name, op in INTRINSICS.items()}
_PARAMETERS_BY_LOWER = {op.name: {name.lower(): name for name in op.params} for op in _TABLE}


def find_intrinsic(name: str) -> Intrinsic | None:
    """The operation named `name`, matched case-insensitively."""
    return _BY_LOWER.get(name.lower())


def find_parameter(op: Intrinsic, name: str) -> str | None:
    """The canonical spelling of parameter `name` of `op`, if it has one."""
    return _PARAMETERS_BY_LOWER[op.name].get(name.lower())
