"""CIM_IndicationService (the one instance, whose writable properties set
the delivery policy), its CIM_IndicationServiceCapabilities, the DSP1054
"Indications" profile centred on the service, and the registration of
every provider of this package."""

from __future__ import annotations

from collections.abc import Iterator

from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    Uint16,
    Uint32,
)

from cimprovider.indications.providers import (
    IndicationFilterProvider,
    IndicationSubscriptionProvider,
    ListenerDestinationProvider,
)
from cimprovider.indications.records import (
    CAPABILITIES_CLASS,
    INTEROP,
    REMOVAL_DISABLE,
    REMOVAL_IGNORE,
    REMOVAL_REMOVE,
    SERVICE_CLASS,
    SYSTEM_CLASS,
    DeliverySettings,
)
from cimprovider.indications.service import IndicationService
from cimprovider.providers.base import InstanceProvider, OperationContext, PropertySet, Pushdown
from cimprovider.providers.interop import Profile, ProfileCatalog
from cimprovider.providers.registry import ProviderRegistry

SERVICE_NAME = "cimprovider:IndicationService"
CAPABILITIES_ID = "cimprovider:IndicationServiceCapabilities"
WRITABLE = ("DeliveryRetryAttempts", "DeliveryRetryInterval", "SubscriptionRemovalAction",
            "SubscriptionRemovalTimeInterval", "FilterCreationEnabled")


def service_path(host: str) -> CIMInstanceName:
    return CIMInstanceName(
        SERVICE_CLASS,
        keybindings=[
            ("CreationClassName", SERVICE_CLASS),
            ("Name", SERVICE_NAME),
            ("SystemCreationClassName", SYSTEM_CLASS),
            ("SystemName", host),
        ],
        namespace=INTEROP,
    )


class IndicationServiceProvider(InstanceProvider):
    classnames = (SERVICE_CLASS,)

    def __init__(self, service: IndicationService) -> None:
        self.service = service

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        s = self.service.settings
        path = service_path(ctx.host)
        yield CIMInstance(
            SERVICE_CLASS,
            properties={
                **path.keybindings,
                "ElementName": "Indication service",
                "Description": "Delivers CIM_Inst* indications to subscribed CIM-XML listeners",
                "EnabledState": Uint16(2),
                "RequestedState": Uint16(12),
                "HealthState": Uint16(5),
                "OperationalStatus": [Uint16(2)],
                "Started": True,
                "FilterCreationEnabled": s.filter_creation_enabled,
                "DeliveryRetryAttempts": Uint16(s.retry_attempts),
                "DeliveryRetryInterval": Uint32(round(s.retry_interval)),
                "SubscriptionRemovalAction": Uint16(s.removal_action),
                "SubscriptionRemovalTimeInterval": Uint32(round(s.removal_interval)),
            },
            path=path,
        )

    def modify_instance(self, ctx: OperationContext, instance: CIMInstance, property_list: list[str] | None) -> None:
        self.get_instance(ctx, instance.path, None)  # CIM_ERR_NOT_FOUND for another path
        wanted = {p.lower() for p in (property_list or WRITABLE)}
        current = self.service.settings
        values = {p: instance.properties[p].value for p in WRITABLE
                  if p.lower() in wanted and p in instance.properties and instance.properties[p].value is not None}
        settings = DeliverySettings(
            retry_attempts=int(values.get("DeliveryRetryAttempts", current.retry_attempts)),
            retry_interval=float(values.get("DeliveryRetryInterval", current.retry_interval)),
            removal_action=int(values.get("SubscriptionRemovalAction", current.removal_action)),
            removal_interval=float(values.get("SubscriptionRemovalTimeInterval", current.removal_interval)),
            filter_creation_enabled=bool(values.get("FilterCreationEnabled", current.filter_creation_enabled)),
        )
        if settings.removal_action not in (REMOVAL_REMOVE, REMOVAL_DISABLE, REMOVAL_IGNORE):
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"SubscriptionRemovalAction {settings.removal_action} is not 2, 3 or 4")
        if settings.retry_attempts < 0 or settings.retry_interval < 0 or settings.removal_interval < 0:
            raise CIMError(CIM_ERR_INVALID_PARAMETER, "delivery retry settings must not be negative")
        self.service.put_settings(settings)


class IndicationServiceCapabilitiesProvider(InstanceProvider):
    classnames = (CAPABILITIES_CLASS,)

    def __init__(self, max_pending: int) -> None:
        self.max_pending = max_pending

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        yield CIMInstance(
            CAPABILITIES_CLASS,
            properties={
                "InstanceID": CAPABILITIES_ID,
                "ElementName": "Indication service capabilities",
                "FilterCreationEnabledIsSettable": True,
                "DeliveryRetryAttemptsIsSettable": True,
                "DeliveryRetryIntervalIsSettable": True,
                "SubscriptionRemovalActionIsSettable": True,
                "SubscriptionRemovalTimeIntervalIsSettable": True,
                "SubscriptionsPersisted": True,
            },
            path=CIMInstanceName(CAPABILITIES_CLASS, keybindings={"InstanceID": CAPABILITIES_ID}, namespace=INTEROP),
        )


def register_indications(registry: ProviderRegistry, catalog: ProfileCatalog, service: IndicationService) -> None:
    registry.register(INTEROP, IndicationServiceProvider(service))
    registry.register(INTEROP, IndicationServiceCapabilitiesProvider(service.max_pending))
    registry.register(INTEROP, IndicationFilterProvider(service))
    registry.register(INTEROP, ListenerDestinationProvider(service))
    registry.register(INTEROP, IndicationSubscriptionProvider(service))
    catalog.add(Profile("Indications", "1.2.0", central=lambda ctx: [service_path(ctx.host)]))
