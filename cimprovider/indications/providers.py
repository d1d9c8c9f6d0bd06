"""The CIM face of the subscription catalog in root/interop:
CIM_IndicationFilter, CIM_ListenerDestinationCIMXML and the
CIM_IndicationSubscription association between them.

Paths are built the same way every time (keys in the class's order,
namespace root/interop, no host), so the path CreateInstance returns, the
one GetInstance answers and the references a subscription holds are equal
and round-trip through pywbem's subscription manager unchanged."""

from __future__ import annotations

from collections.abc import Iterator

from pywbem import (
    CIM_ERR_ALREADY_EXISTS,
    CIM_ERR_FAILED,
    CIM_ERR_NOT_SUPPORTED,
    CIMDateTime,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
    Uint16,
)

from cimprovider.indications.records import (
    DESTINATION_CLASS,
    FILTER_CLASS,
    INTEROP,
    STATE_ENABLED,
    SUBSCRIPTION_CLASS,
    DestinationRecord,
    FilterRecord,
    Properties,
    SubscriptionRecord,
    cim_properties,
    properties_of,
    value_of,
)
from cimprovider.indications.service import IndicationService
from cimprovider.indications.validation import (
    FILTER_CLASSES,
    HANDLER_CLASSES,
    check_destination,
    check_filter,
    check_subscription_state,
    invalid,
    named_properties,
    reference,
    referenced_name,
)
from cimprovider.providers.base import (
    AssociationProvider,
    InstanceProvider,
    OperationContext,
    PropertySet,
    Pushdown,
    instance_not_found,
)
from cimprovider.providers.paths import same_path

KEYS = ("CreationClassName", "Name", "SystemCreationClassName", "SystemName")
SERVER_OWNED = ("SubscriptionStartTime", "TimeOfLastStateChange", "SubscriptionTimeRemaining")


def element_path(classname: str, props: Properties) -> CIMInstanceName:
    return CIMInstanceName(classname, keybindings=[(k, value_of(props, k)) for k in KEYS], namespace=INTEROP)


def element_instance(classname: str, props: Properties) -> CIMInstance:
    return CIMInstance(classname, properties=cim_properties(props), path=element_path(classname, props))


def subscription_path(filter_path: CIMInstanceName, handler_path: CIMInstanceName) -> CIMInstanceName:
    return CIMInstanceName(
        SUBSCRIPTION_CLASS, keybindings=[("Filter", filter_path), ("Handler", handler_path)], namespace=INTEROP
    )


def refuse_beyond_limit(classname: str, count: int, limit: int) -> None:
    if count >= limit:
        raise CIMError(CIM_ERR_FAILED, f"the server keeps at most {limit} {classname} instances: delete one first")


def merged(stored: Properties, change: CIMInstance, property_list: list[str] | None, fixed: tuple[str, ...]) -> Properties:
    """`stored` with the properties of `change` that ModifyInstance may set."""
    wanted = None if property_list is None else {p.lower() for p in property_list}
    frozen = {k.lower() for k in fixed}
    out = dict(stored)
    for name, value in properties_of(change).items():
        if name.lower() in frozen or (wanted is not None and name.lower() not in wanted):
            continue
        for existing in [k for k in out if k.lower() == name.lower()]:
            del out[existing]
        out[name] = value
    return out


class _ElementProvider(InstanceProvider):
    """Shared by filters and destinations: system-scoped, keyed by Name."""

    classname = ""

    def __init__(self, service: IndicationService) -> None:
        self.service = service

    def records(self) -> list[FilterRecord] | list[DestinationRecord]:
        raise NotImplementedError

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for record in self.records():
            yield element_instance(self.classname, record.properties)

    def find(self, path: CIMInstanceName) -> FilterRecord | DestinationRecord:
        name = path.keybindings.get("Name")
        for record in self.records():
            if record.name == name and same_path(element_path(self.classname, record.properties), path):
                return record
        raise instance_not_found(path)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        return element_instance(self.classname, self.find(path).properties)

    def refuse_if_used(self, record: FilterRecord | DestinationRecord, role: str) -> None:
        for sub in self.service.subscriptions():
            used = sub.filter_name if role == "Filter" else sub.handler_name
            if used == record.name:
                raise CIMError(
                    CIM_ERR_FAILED,
                    f"{self.classname} {record.name} is used by the subscription of filter {sub.filter_name} "
                    f"to destination {sub.handler_name}: delete that subscription first",
                )

    def admit_new(self, name: str) -> None:
        """Refuse a new element whose name is taken, or one past the limit."""
        records = self.records()
        if any(r.name == name for r in records):
            raise CIMError(CIM_ERR_ALREADY_EXISTS, f"a {self.classname} named {name!r} already exists")
        refuse_beyond_limit(self.classname, len(records), self.service.max_catalog)


class IndicationFilterProvider(_ElementProvider):
    classnames = (FILTER_CLASS,)
    classname = FILTER_CLASS

    def records(self) -> list[FilterRecord]:
        return self.service.filters()

    def create_instance(self, ctx: OperationContext, instance: CIMInstance) -> CIMInstanceName:
        if not self.service.settings.filter_creation_enabled:
            raise CIMError(CIM_ERR_NOT_SUPPORTED, "filter creation is disabled (FilterCreationEnabled is false)")
        props = named_properties(instance, FILTER_CLASS, ctx.host)
        if value_of(props, "QueryLanguage") is None:
            props["QueryLanguage"] = ("string", "WQL", False)
        record = check_filter(props, ctx.repository)
        with self.service.changing():
            self.admit_new(record.name)
            self.service.put_filter(record)
        return element_path(FILTER_CLASS, props)

    def modify_instance(self, ctx: OperationContext, instance: CIMInstance, property_list: list[str] | None) -> None:
        record = self.find(instance.path)
        props = merged(record.properties, instance, property_list, KEYS)
        self.service.put_filter(check_filter(props, ctx.repository), replace=True)

    def delete_instance(self, ctx: OperationContext, path: CIMInstanceName) -> None:
        record = self.find(path)
        self.refuse_if_used(record, "Filter")
        self.service.remove_filter(record.name)


class ListenerDestinationProvider(_ElementProvider):
    classnames = (DESTINATION_CLASS,)
    classname = DESTINATION_CLASS

    def records(self) -> list[DestinationRecord]:
        return self.service.destinations()

    def create_instance(self, ctx: OperationContext, instance: CIMInstance) -> CIMInstanceName:
        props = named_properties(instance, DESTINATION_CLASS, ctx.host)
        check_destination(props, self.service.access)
        if value_of(props, "Protocol") is None:
            props["Protocol"] = ("uint16", Uint16(2), False)  # CIM-XML
        if value_of(props, "PersistenceType") is None:
            props["PersistenceType"] = ("uint16", Uint16(2), False)  # Permanent
        name = value_of(props, "Name")
        with self.service.changing():
            self.admit_new(name)
            self.service.put_destination(DestinationRecord(name, props))
        return element_path(DESTINATION_CLASS, props)

    def modify_instance(self, ctx: OperationContext, instance: CIMInstance, property_list: list[str] | None) -> None:
        record = self.find(instance.path)
        props = merged(record.properties, instance, property_list, KEYS)
        check_destination(props, self.service.access)
        self.service.put_destination(DestinationRecord(record.name, props), replace=True)

    def delete_instance(self, ctx: OperationContext, path: CIMInstanceName) -> None:
        record = self.find(path)
        self.refuse_if_used(record, "Handler")
        self.service.remove_destination(record.name)


class IndicationSubscriptionProvider(AssociationProvider):
    classnames = (SUBSCRIPTION_CLASS,)

    def __init__(self, service: IndicationService) -> None:
        self.service = service

    def _paths(self) -> tuple[dict[str, CIMInstanceName], dict[str, CIMInstanceName]]:
        filters = {f.name: element_path(FILTER_CLASS, f.properties) for f in self.service.filters()}
        handlers = {d.name: element_path(DESTINATION_CLASS, d.properties) for d in self.service.destinations()}
        return filters, handlers

    def _instance(self, sub: SubscriptionRecord, filter_path: CIMInstanceName, handler_path: CIMInstanceName) -> CIMInstance:
        props = [
            CIMProperty("Filter", filter_path, type="reference", reference_class=FILTER_CLASS),
            CIMProperty("Handler", handler_path, type="reference", reference_class=DESTINATION_CLASS),
            *cim_properties(sub.properties),
        ]
        return CIMInstance(SUBSCRIPTION_CLASS, properties=props, path=subscription_path(filter_path, handler_path))

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        filters, handlers = self._paths()
        for sub in self.service.subscriptions():
            if sub.filter_name in filters and sub.handler_name in handlers:
                yield self._instance(sub, filters[sub.filter_name], handlers[sub.handler_name])

    def _resolve(self, filter_ref: CIMInstanceName, handler_ref: CIMInstanceName) -> tuple[str, str]:
        """The names of the filter and destination two references point at;
        CIM_ERR_INVALID_PARAMETER if either does not exist."""
        filters, handlers = self._paths()
        filter_name = referenced_name(filter_ref, FILTER_CLASSES, "Filter")
        handler_name = referenced_name(handler_ref, HANDLER_CLASSES, "Handler")
        if filter_name not in filters or not same_path(filters[filter_name], filter_ref):
            raise invalid(f"the Filter {filter_ref} does not exist")
        if handler_name not in handlers or not same_path(handlers[handler_name], handler_ref):
            raise invalid(f"the Handler {handler_ref} does not exist")
        return filter_name, handler_name

    def _find(self, path: CIMInstanceName) -> SubscriptionRecord:
        filter_ref, handler_ref = path.keybindings.get("Filter"), path.keybindings.get("Handler")
        if not isinstance(filter_ref, CIMInstanceName) or not isinstance(handler_ref, CIMInstanceName):
            raise instance_not_found(path)
        try:
            key = self._resolve(filter_ref, handler_ref)
        except CIMError:
            raise instance_not_found(path) from None
        for sub in self.service.subscriptions():
            if sub.key == key:
                return sub
        raise instance_not_found(path)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        sub = self._find(path)
        filters, handlers = self._paths()
        return self._instance(sub, filters[sub.filter_name], handlers[sub.handler_name])

    def create_instance(self, ctx: OperationContext, instance: CIMInstance) -> CIMInstanceName:
        filter_ref, handler_ref = reference(instance, "Filter"), reference(instance, "Handler")
        filter_name, handler_name = self._resolve(filter_ref, handler_ref)
        props = {k: v for k, v in properties_of(instance).items() if k.lower() not in {s.lower() for s in SERVER_OWNED}}
        check_subscription_state(props)
        if value_of(props, "SubscriptionState") is None:
            props["SubscriptionState"] = ("uint16", Uint16(STATE_ENABLED), False)
        now = CIMDateTime.now()
        props["SubscriptionStartTime"] = ("datetime", now, False)
        props["TimeOfLastStateChange"] = ("datetime", now, False)
        with self.service.changing():
            subscriptions = self.service.subscriptions()
            if any(s.key == (filter_name, handler_name) for s in subscriptions):
                raise CIMError(CIM_ERR_ALREADY_EXISTS, f"filter {filter_name} is already subscribed to {handler_name}")
            refuse_beyond_limit(SUBSCRIPTION_CLASS, len(subscriptions), self.service.max_catalog)
            self.service.put_subscription(SubscriptionRecord(filter_name, handler_name, props))
        filters, handlers = self._paths()
        return subscription_path(filters[filter_name], handlers[handler_name])

    def modify_instance(self, ctx: OperationContext, instance: CIMInstance, property_list: list[str] | None) -> None:
        sub = self._find(instance.path)
        props = merged(sub.properties, instance, property_list, SERVER_OWNED)
        check_subscription_state(props)
        if value_of(props, "SubscriptionState") != value_of(sub.properties, "SubscriptionState"):
            props = {k: v for k, v in props.items() if k.lower() != "timeoflaststatechange"}
            props["TimeOfLastStateChange"] = ("datetime", CIMDateTime.now(), False)
        self.service.put_subscription(SubscriptionRecord(sub.filter_name, sub.handler_name, props), replace=True)

    def delete_instance(self, ctx: OperationContext, path: CIMInstanceName) -> None:
        self.service.remove_subscription(self._find(path))
