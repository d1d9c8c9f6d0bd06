"""WMI intrinsic event classes and their DMTF indication counterparts.

Hyper-V scripts subscribe with `SELECT * FROM __InstanceModificationEvent
WITHIN 2 WHERE TargetInstance ISA 'Msvm_ComputerSystem'`; a CIM-XML server
delivers CIM_InstModification indications whose changed object is in
SourceInstance. The tables below let one filter be evaluated against either
shape: the FROM class is matched through its counterpart, and
TargetInstance and SourceInstance stand in for each other.
"""

from __future__ import annotations

# WMI event class (lower case) -> DMTF indication class.
WMI_TO_DMTF_EVENT = {
    "__instancecreationevent": "CIM_InstCreation",
    "__instancemodificationevent": "CIM_InstModification",
    "__instancedeletionevent": "CIM_InstDeletion",
    "__instanceoperationevent": "CIM_InstIndication",
    "__event": "CIM_Indication",
}

# Properties of one event shape and their name in the other.
EVENT_PROPERTY_COUNTERPART = {
    "targetinstance": "SourceInstance",
    "sourceinstance": "TargetInstance",
}

# The abstract parents: an operation event is any of the three; every
# indication is a CIM_Indication (WMI's __Event), the catch-all filter.
_PARENT_EVENT = {"cim_instindication": "cim_instindication", "cim_indication": "cim_indication"}
_CHILD_EVENTS = {"cim_instcreation", "cim_instmodification", "cim_instdeletion"}


def dmtf_event_class(classname: str) -> str | None:
    """The DMTF indication class for a WMI event class, or None."""
    return WMI_TO_DMTF_EVENT.get(classname.lower())


def is_event_class(classname: str) -> bool:
    lowered = classname.lower()
    return (lowered in WMI_TO_DMTF_EVENT or lowered in _CHILD_EVENTS
            or lowered in _PARENT_EVENT)


def event_class_admits(query_class: str, instance_class: str) -> bool | None:
    """Whether an event of `instance_class` answers `FROM query_class`.

    None when neither name is an instance event class, so the caller falls
    back on the schema's subclass test.
    """
    if not (is_event_class(query_class) or is_event_class(instance_class)):
        return None
    wanted = (dmtf_event_class(query_class) or query_class).lower()
    actual = (dmtf_event_class(instance_class) or instance_class).lower()
    if wanted == actual or wanted == "cim_indication":
        return True
    return wanted == "cim_instindication" and actual in _CHILD_EVENTS


def counterpart_property(name: str) -> str | None:
    return EVENT_PROPERTY_COUNTERPART.get(name.lower())
