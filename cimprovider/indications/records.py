"""What the subscription classes hold, in plain dataclasses, and the
conversion of their CIM properties to JSON and back for the store.

Instances keep every property the client set (ElementName, Description,
vendor extras) so GetInstance returns what CreateInstance received; the
properties the server acts on are read out into typed fields."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pywbem import CIMDateTime, CIMInstance, CIMProperty, cimvalue

INTEROP = "root/interop"
FILTER_CLASS = "CIM_IndicationFilter"
DESTINATION_CLASS = "CIM_ListenerDestinationCIMXML"
SUBSCRIPTION_CLASS = "CIM_IndicationSubscription"
SERVICE_CLASS = "CIM_IndicationService"
CAPABILITIES_CLASS = "CIM_IndicationServiceCapabilities"
SYSTEM_CLASS = "CIM_ComputerSystem"

# CIM_IndicationSubscription.SubscriptionState
STATE_ENABLED = 2
STATE_ENABLED_DEGRADED = 3
STATE_DISABLED = 4

# CIM_IndicationSubscription.OnFatalErrorPolicy
POLICY_UNKNOWN, POLICY_OTHER, POLICY_IGNORE, POLICY_DISABLE, POLICY_REMOVE = 0, 1, 2, 3, 4

# CIM_IndicationService.SubscriptionRemovalAction
REMOVAL_REMOVE, REMOVAL_DISABLE, REMOVAL_IGNORE = 2, 3, 4

Properties = dict[str, tuple[str, Any, bool]]  # name -> (CIM type, value, is_array)


def properties_of(instance: CIMInstance, skip: tuple[str, ...] = ()) -> Properties:
    """The non-reference properties of `instance`, typed, ready for JSON."""
    skipped = {name.lower() for name in skip}
    out: Properties = {}
    for name, prop in instance.properties.items():
        if prop.type == "reference" or name.lower() in skipped:
            continue
        out[prop.name] = (prop.type, prop.value, bool(prop.is_array))
    return out


def properties_to_json(props: Properties) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, CIMDateTime):
            return str(value)
        return value

    return json.dumps({name: [t, plain(v), a] for name, (t, v, a) in props.items()})


def properties_from_json(text: str) -> Properties:
    out: Properties = {}
    for name, (cim_type, value, is_array) in json.loads(text).items():
        if value is not None:
            value = [cimvalue(v, cim_type) for v in value] if is_array else cimvalue(value, cim_type)
        out[name] = (cim_type, value, is_array)
    return out


def cim_properties(props: Properties) -> list[CIMProperty]:
    return [CIMProperty(name, value, type=t, is_array=a) for name, (t, value, a) in props.items()]


def value_of(props: Properties, name: str, default: Any = None) -> Any:
    for key, (_, value, _) in props.items():
        if key.lower() == name.lower():
            return default if value is None else value
    return default


@dataclass(slots=True)
class FilterRecord:
    name: str
    properties: Properties  # every property, keys included

    @property
    def query(self) -> str:
        return value_of(self.properties, "Query", "")

    @property
    def language(self) -> str:
        return value_of(self.properties, "QueryLanguage", "WQL")

    @property
    def source_namespaces(self) -> list[str]:
        """The namespaces whose indications the filter sees; empty = all."""
        many = value_of(self.properties, "SourceNamespaces") or []
        one = value_of(self.properties, "SourceNamespace")
        return [*many, *([one] if one else [])]


@dataclass(slots=True)
class DestinationRecord:
    name: str
    properties: Properties

    @property
    def url(self) -> str:
        return value_of(self.properties, "Destination", "")


@dataclass(slots=True)
class SubscriptionRecord:
    filter_name: str
    handler_name: str
    properties: Properties = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.filter_name, self.handler_name)

    @property
    def state(self) -> int:
        return int(value_of(self.properties, "SubscriptionState", STATE_ENABLED))

    @property
    def active(self) -> bool:
        return self.state in (STATE_ENABLED, STATE_ENABLED_DEGRADED)

    @property
    def on_fatal_error(self) -> int:
        return int(value_of(self.properties, "OnFatalErrorPolicy", POLICY_UNKNOWN))


@dataclass(slots=True)
class DeliverySettings:
    """CIM_IndicationService's delivery policy. Intervals are seconds
    (floats inside, so tests can run the policy quickly); the CIM
    properties are whole seconds."""

    retry_attempts: int = 3
    retry_interval: float = 30.0
    removal_action: int = REMOVAL_REMOVE
    removal_interval: float = 2592000.0
    filter_creation_enabled: bool = True
