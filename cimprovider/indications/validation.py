"""Checking what clients create or modify, before anything is stored. Each
check answers with the CIM status a client can act on and a message that
names the property at fault."""

from __future__ import annotations

from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_INVALID_QUERY,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from cimprovider.indications.access import DestinationRefused, ListenerAccess
from cimprovider.indications.records import (
    DESTINATION_CLASS,
    FILTER_CLASS,
    STATE_DISABLED,
    STATE_ENABLED,
    SYSTEM_CLASS,
    FilterRecord,
    Properties,
    properties_of,
    value_of,
)
from cimprovider.indications.routing import compile_filter
from cimprovider.indications.transport import ListenerAddress
from cimprovider.query import query_language
from cimprovider.repository import ClassRepository

PROTOCOL_CIMXML = 2


def invalid(message: str) -> CIMError:
    return CIMError(CIM_ERR_INVALID_PARAMETER, message)


def named_properties(instance: CIMInstance, classname: str, host: str) -> Properties:
    """The instance's properties with the four keys of a system-scoped
    element filled in: Name must come from the client, the rest default to
    this server (as pywbem's subscription manager fills them anyway)."""
    props = properties_of(instance)
    name = value_of(props, "Name")
    if not isinstance(name, str) or not name.strip():
        raise invalid(f"{classname}: property Name is required")
    defaults = {"CreationClassName": classname, "SystemCreationClassName": SYSTEM_CLASS, "SystemName": host}
    for key, default in defaults.items():
        if value_of(props, key) in (None, ""):
            props = {k: v for k, v in props.items() if k.lower() != key.lower()}
            props[key] = ("string", default, False)
    if value_of(props, "CreationClassName").lower() != classname.lower():
        raise invalid(f"{classname}: CreationClassName is {value_of(props, 'CreationClassName')!r}")
    return props


def check_filter(props: Properties, repository: ClassRepository) -> FilterRecord:
    record = FilterRecord(value_of(props, "Name"), props)
    query = value_of(props, "Query")
    if not isinstance(query, str) or not query.strip():
        raise invalid(f"filter {record.name}: property Query is required")
    language = value_of(props, "QueryLanguage")
    if language in (None, ""):
        raise invalid(f"filter {record.name}: property QueryLanguage is required (WQL or DMTF:CQL)")
    query_language(language)  # CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED
    target = compile_filter(record).target_class  # CIM_ERR_INVALID_QUERY
    for namespace in record.source_namespaces:
        if not isinstance(namespace, str) or not repository.has_namespace(namespace):
            raise invalid(f"filter {record.name}: source namespace {namespace!r} does not exist")
    spaces = record.source_namespaces or repository.namespaces()
    if target is not None and not any(repository.has_class(namespace, target) for namespace in spaces):
        # As WMI refuses it: a filter on a class no one has would wait forever, silently.
        where = "none of its source namespaces has" if record.source_namespaces else "no namespace has"
        raise CIMError(CIM_ERR_INVALID_QUERY, f"filter {record.name}: ISA names class {target}, which {where}")
    return record


def check_destination(props: Properties, access: ListenerAccess) -> None:
    """A usable listener URL whose host indications may be sent to (checked
    again at each delivery: DNS may change meanwhile)."""
    name = value_of(props, "Name")
    url = value_of(props, "Destination")
    if not isinstance(url, str) or not url.strip():
        raise invalid(f"listener destination {name}: property Destination (the listener URL) is required")
    try:
        address = ListenerAddress.parse(url)
    except ValueError as exc:
        raise invalid(f"listener destination {name}: Destination {url!r} is not usable: {exc}") from None
    protocol = value_of(props, "Protocol")
    if protocol is not None and int(protocol) != PROTOCOL_CIMXML:
        raise invalid(f"listener destination {name}: Protocol {protocol} is not supported (2, CIM-XML)")
    try:
        access.addresses(address.host, address.port)
    except DestinationRefused as exc:
        raise invalid(f"listener destination {name}: Destination {url!r} is not allowed: {exc}") from None


def check_subscription_state(props: Properties) -> None:
    state = value_of(props, "SubscriptionState")
    if state is not None and int(state) not in (STATE_ENABLED, STATE_DISABLED):
        raise invalid(f"SubscriptionState {state} is not supported: use 2 (Enabled) or 4 (Disabled)")


def reference(instance: CIMInstance, name: str) -> CIMInstanceName:
    prop = instance.properties.get(name)
    if prop is None or not isinstance(prop.value, CIMInstanceName):
        raise invalid(f"CIM_IndicationSubscription: property {name} must be a reference")
    return prop.value


def referenced_name(path: CIMInstanceName, classes: tuple[str, ...], what: str) -> str:
    if path.classname.lower() not in {c.lower() for c in classes}:
        raise invalid(f"{what} {path} is not a {' or '.join(classes)}")
    name = path.keybindings.get("Name")
    if not isinstance(name, str):
        raise invalid(f"{what} {path} has no Name key")
    return name


FILTER_CLASSES = (FILTER_CLASS,)
HANDLER_CLASSES = (DESTINATION_CLASS,)
