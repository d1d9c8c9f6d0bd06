"""The changes a publisher reports, and the CIM_Inst* indications made of
them (DSP1054): InstanceChange for life-cycle events, MethodCall for
CIM_InstMethodCall. Publishers hand these (or a ready indication instance)
to IndicationService; nothing here knows about subscriptions."""

from __future__ import annotations

import enum
import itertools
import uuid
from dataclasses import dataclass
from typing import Any

from pywbem import CIMDateTime, CIMInstance, CIMProperty, Sint64



class ChangeKind(enum.Enum):
    CREATED = "CIM_InstCreation"
    MODIFIED = "CIM_InstModification"
    DELETED = "CIM_InstDeletion"


def _embedded(name: str, instance: CIMInstance | None) -> CIMProperty:
    return CIMProperty(name, instance, type="string", embedded_object="instance")


@dataclass(frozen=True, slots=True)
class InstanceChange:
    """An instance was created, modified or deleted in `namespace`.
    `source` is the instance as it is now (as it was, for a deletion), with
    its path; `previous` is the instance before a modification."""

    kind: ChangeKind
    namespace: str
    source: CIMInstance
    previous: CIMInstance | None = None

    def indication(self) -> CIMInstance:
        props = [_embedded("SourceInstance", self.source)]
        if self.kind is ChangeKind.MODIFIED:
            props.append(_embedded("PreviousInstance", self.previous))
        return CIMInstance(self.kind.value, properties=props)


@dataclass(frozen=True, slots=True)
class MethodCall:
    """An extrinsic method was invoked on `source` (CIM_InstMethodCall):
    once before it runs (pre_call) and once after, with its return value."""

    namespace: str
    source: CIMInstance
    method_name: str
    parameters: CIMInstance | None = None
    return_value: Any = None
    pre_call: bool = False
    error: list[CIMInstance] | None = None

    def indication(self) -> CIMInstance:
        props = [
            _embedded("SourceInstance", self.source),
            CIMProperty("MethodName", self.method_name, type="string"),
            _embedded("MethodParameters", self.parameters),
            CIMProperty("PreCall", self.pre_call, type="boolean"),
        ]
        if self.return_value is not None:
            props.append(CIMProperty("ReturnValue", str(self.return_value), type="string"))
        if self.error:
            props.append(CIMProperty("Error", self.error, type="string", embedded_object="instance", is_array=True))
        return CIMInstance("CIM_InstMethodCall", properties=props)


class IndicationStamp:
    """Fills the properties DSP1054 asks of every indication the server
    raises. Identifiers are unique across restarts: a random session prefix
    and a counter."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.session = uuid.uuid4().hex[:12]
        self._counter = itertools.count(1)

    def stamp(self, namespace: str, indication: CIMInstance) -> CIMInstance:
        # Properties are set as ready CIMProperty objects: pywbem's
        # item assignment infers types and is the costliest step here.
        props = indication.properties
        if props.get("IndicationIdentifier") is None or props["IndicationIdentifier"].value is None:
            props["IndicationIdentifier"] = CIMProperty(
                "IndicationIdentifier", f"{self.session}:{next(self._counter)}", type="string")
        if props.get("IndicationTime") is None or props["IndicationTime"].value is None:
            props["IndicationTime"] = CIMProperty("IndicationTime", CIMDateTime.now(), type="datetime")
        source = props.get("SourceInstance")
        if source is not None and isinstance(source.value, CIMInstance):
            path = source.value.path
            if path is not None and "SourceInstanceModelPath" not in props:
                path = path.copy()
                path.host = None
                path.namespace = path.namespace or namespace_display(namespace)
                props["SourceInstanceModelPath"] = CIMProperty(
                    "SourceInstanceModelPath", path.to_wbem_uri(format="standard"), type="string")
            if "SourceInstanceHost" not in props:
                props["SourceInstanceHost"] = CIMProperty("SourceInstanceHost", self.host, type="string")
        return indication


def namespace_display(namespace: str) -> str:
    return namespace.replace("\\", "/").strip("/")


# The delivery metadata every indication carries whatever the select list.
STAMPED = ("IndicationIdentifier", "IndicationTime", "SourceInstanceModelPath", "SourceInstanceHost")


def delivered_copy(
    projected: CIMInstance, stamped: CIMInstance, filter_name: str, context: str, number: int
) -> CIMInstance:
    """The instance one destination receives: the filter's projection plus
    the stamped identity and the destination's DSP1054 sequence."""
    out = CIMInstance(projected.classname)
    props = out.properties
    # The projection's CIMProperty objects are shared, not copied: nothing
    # changes them after routing, and copying embedded instances is costly.
    for name, prop in projected.properties.items():
        props[name] = prop
    for name in STAMPED:
        prop = stamped.properties.get(name)
        if prop is not None and name not in props:
            props[name] = prop
    props["IndicationFilterName"] = CIMProperty("IndicationFilterName", filter_name, type="string")
    props["SequenceContext"] = CIMProperty("SequenceContext", context, type="string")
    props["SequenceNumber"] = CIMProperty("SequenceNumber", Sint64(number), type="sint64")
    return out
