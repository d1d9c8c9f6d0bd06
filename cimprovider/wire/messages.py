"""Typed CIM-XML operation requests and results: the contract between `wire`
(which turns bytes into these and back) and `http`/`cimom` (which act on them).

Values are pywbem objects (CIMInstance, CIMInstanceName, CIMClass,
CIMClassName, CIMQualifierDeclaration, CIMInt/CIMFloat/CIMDateTime, str,
bool, list) so that no other part sees XML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Hashable, Iterator
from typing import Any, Protocol

from pywbem import CIMClassName, CIMError, CIMInstance, CIMInstanceName


@dataclass(frozen=True, slots=True)
class IntrinsicCall:
    """An IMETHODCALL. `params` holds every IPARAMVALUE, keyed by its DSP0200
    name in canonical case (e.g. "ClassName", "DeepInheritance"), already
    converted to the DSP0200 type of that parameter (bool, int, str, list[str],
    CIMInstanceName, CIMInstance, CIMClass, CIMQualifierDeclaration, or None
    for an explicit NULL). Parameters not sent are absent.

    Details the decoder guarantees (wire/intrinsics.py holds the table):
    ClassName, AssocClass and ResultClass are str; InstanceName is a
    CIMInstanceName with namespace and host None (the namespace is
    `namespace`) unless the client sent a (LOCAL)INSTANCEPATH there, whose
    namespace and host are kept; ObjectName is a CIMInstanceName, or a
    CIMClassName (namespace None likewise) when the client named a class; NewInstance is a
    CIMInstance without path, ModifiedInstance one with its path;
    PropertyList is list[str] or None (NULL: all properties);
    MaxObjectCount and OperationTimeout are Uint32; SetProperty's NewValue
    is untyped as sent: str, list of str/None, or a path. Required
    parameters (e.g. ClassName of EnumerateInstances) are present and not
    None, else decoding already failed with CIM_ERR_INVALID_PARAMETER."""

    message_id: str
    method: str  # canonical DSP0200 spelling, e.g. "EnumerateInstances"
    namespace: str  # "/"-separated as sent, e.g. "root/interop"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParamValue:
    """One PARAMVALUE of a METHODCALL.

    `type` is the PARAMTYPE as sent ("uint16", "string", "reference",
    "boolean"…), or None when the client sent none (wbemcli): then `value`
    is the raw text (str), a list of raw texts, a CIMInstanceName /
    CIMClassName (VALUE.REFERENCE), a list of those, or None, and the cimom
    types it from the METHOD/PARAMETER definition. With a type, scalar values
    are already converted to pywbem types. `embedded_object` is "instance" or
    "object" when the PARAMVALUE carried EmbeddedObject / EMBEDDEDOBJECT; an
    embedded instance arrives parsed (CIMInstance, or CIMClass for an
    embedded class) when its text parses, else as the text, with or without
    a type. WMI GetText() instances keep their system properties (__PATH,
    __CLASS, ...) with class_origin "___SYSTEM". `is_array` is True for a
    VALUE.ARRAY or VALUE.REFARRAY. A PARAMVALUE holding CLASSNAME,
    INSTANCENAME, INSTANCE or CLASS gives CIMClassName, CIMInstanceName,
    CIMInstance or CIMClass."""

    name: str
    type: str | None
    value: Any
    embedded_object: str | None = None
    is_array: bool = False


@dataclass(frozen=True, slots=True)
class ExtrinsicCall:
    """A METHODCALL on an instance (LOCALINSTANCEPATH) or a class
    (LOCALCLASSPATH, a static method). `target.namespace` is set, host is None."""

    message_id: str
    method: str
    namespace: str
    target: CIMInstanceName | CIMClassName
    params: tuple[ParamValue, ...] = ()


Request = IntrinsicCall | ExtrinsicCall


class InstanceSource(Protocol):
    """What builds the instances behind KeptInstance items."""

    def build(self, owner: Hashable, key: Hashable) -> CIMInstance | None: ...

    def live(self, owner: Hashable) -> dict[str, Any]: ...


@dataclass(slots=True)  # not frozen: one is made per VM per enumeration
class KeptInstance:
    """An item of an IntrinsicResult's `value` standing for one instance
    (with its path) whose CIM-XML the writer may keep and reuse.

    The writer keeps the bytes under (answer form, host, `shape`, `owner`,
    `key`); `shape` says everything the request changes about the instance
    (property list, class origin, requested class), `owner` is what a
    change forgets (a VM), `key` the instance among its owner's.
    `source.build(owner, key)` gives the shaped instance, or None when it
    vanished (nothing is written); `source.live(owner)` the current values
    of properties that change without notice, written afresh every time."""

    shape: Hashable
    owner: Hashable
    key: Hashable
    source: InstanceSource


class RunState:
    """What the writer learnt about a KeptRun's members, shared by the
    slices a pull enumeration cuts from it: the store's whole list found
    for them (later slices check it by identity, not member by member),
    and the store's token from before the first slice was written."""

    __slots__ = ("found", "token")

    def __init__(self) -> None:
        self.found: Any = None
        self.token: Any = None


@dataclass(slots=True)
class KeptRun:
    """A stretch of one class's enumeration, each member standing for a
    KeptInstance (same `shape`, same `source`): `owners[i]` and `keys[i]`
    name the i-th. The writer may answer the whole stretch from one kept
    list of pieces while its members are those it was built from.

    A pull enumeration answers it in slices (`split`): members `start` to
    `stop` of the same lists, so each slice is written from the same kept
    list."""

    shape: Hashable
    owners: list[Hashable]
    keys: list[Hashable]
    source: InstanceSource
    start: int = 0
    stop: int = -1  # -1: up to the last member
    state: RunState = field(default_factory=RunState)

    @property
    def end(self) -> int:
        return len(self.owners) if self.stop < 0 else self.stop

    def __len__(self) -> int:
        return self.end - self.start

    def split(self, count: int) -> tuple[KeptRun, KeptRun]:
        """The first `count` members and the rest, as two slices."""
        cut = self.start + count
        head = KeptRun(self.shape, self.owners, self.keys, self.source, self.start, cut, self.state)
        return head, KeptRun(self.shape, self.owners, self.keys, self.source, cut, self.stop, self.state)

    def members(self) -> Iterator[KeptInstance]:
        for index in range(self.start, self.end):
            yield KeptInstance(self.shape, self.owners[index], self.keys[index], self.source)


@dataclass(slots=True)
class IntrinsicResult:
    """What an intrinsic operation answers.

    `value` is the IRETURNVALUE content; its XML form is chosen by the writer
    from the operation name (DSP0200): e.g. a list of CIMInstance with paths
    becomes VALUE.NAMEDINSTANCE for EnumerateInstances, VALUE.OBJECTWITHPATH
    for Associators/References/ExecQuery, VALUE.INSTANCEWITHPATH for the
    pull operations. `value` may be any iterable (a generator is consumed
    once). None with a void operation writes no IRETURNVALUE. For GetProperty
    `value_type` names the CIM type of the property ("string", "uint16",
    "reference"…) and `embedded_object` its embedding, so that the VALUE is
    written with the right form.

    `out_params` are the output PARAMVALUEs of pull operations, in order:
    ("EndOfSequence", "boolean", True), ("EnumerationContext", "string", "…")
    and for EnumerationCount none. An empty or None EnumerationContext is
    written as an empty PARAMVALUE; OpenQueryInstances may add
    ("QueryResultClass", "", CIMClass), written as a CLASS child.

    What `value` holds per operation: CIMClass / iterable of CIMClass
    (GetClass, EnumerateClasses); str or CIMClassName (EnumerateClassNames);
    CIMInstance (GetInstance, path not written); CIMInstance with path
    (EnumerateInstances, Associators, References, ExecQuery, Open*/Pull*
    instances; a path without host or namespace gets the writer's `host`
    and the call's namespace); CIMInstanceName (EnumerateInstanceNames,
    CreateInstance, *Names, *Paths); for Associators/References of a
    class, CIMClass with `.path` set or (CIMClassName, CIMClass) pairs, and
    CIMClassName for AssociatorNames/ReferenceNames of a class; an ExecQuery
    row without path is written as VALUE.OBJECT; OpenQueryInstances and
    PullInstances write plain INSTANCEs; an int for EnumerationCount.
    Writing an instance that needs a path and has none raises ValueError.
    Wherever an instance with path may stand, a KeptInstance may too."""

    value: Any = None
    out_params: list[tuple[str, str, Any]] = field(default_factory=list)
    value_type: str | None = None
    embedded_object: str | None = None


@dataclass(slots=True)
class MethodResult:
    """What an extrinsic method answers: RETURNVALUE (always with PARAMTYPE)
    and the declared output parameters as (name, CIM type, value, is_array,
    embedded_object) where embedded_object is None, "instance" or "object".
    A value None writes the PARAMVALUE with no value (NULL); an embedded
    value may be a CIMInstance / CIMClass (serialised) or its text."""

    return_type: str
    return_value: Any
    out_params: list[tuple[str, str, Any, bool, str | None]] = field(default_factory=list)


class ProtocolError(Exception):
    """A fault below the CIM level, answered with an HTTP status and a
    `CIMError` header (DSP0200 §7): e.g. 400 request-not-well-formed,
    400 request-not-valid, 400 unsupported-operation, 413."""

    def __init__(self, status: int, cim_error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.cim_error = cim_error
        self.message = message


class CallError(Exception):
    """A CIM error found while decoding a call whose envelope was read
    (so the response can name the method): e.g. an unknown intrinsic method
    (CIM_ERR_NOT_SUPPORTED) or a parameter of the wrong type
    (CIM_ERR_INVALID_PARAMETER). Answered as 200 + ERROR."""

    def __init__(self, message_id: str, method: str, intrinsic: bool, error: CIMError) -> None:
        super().__init__(str(error))
        self.message_id = message_id
        self.method = method
        self.intrinsic = intrinsic
        self.error = error
