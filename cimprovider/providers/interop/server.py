"""CIM_Namespace and CIM_ObjectManager: the server describing itself."""

from __future__ import annotations

from collections.abc import Iterator

from pywbem import CIMInstance, CIMInstanceName, Uint16

from cimprovider import __version__
from cimprovider.providers.base import (
    InstanceProvider,
    MethodProvider,
    MethodReturn,
    OperationContext,
    PropertySet,
    Pushdown,
    instance_not_found,
)
from cimprovider.providers.paths import same_path

INTEROP = "root/interop"
SYSTEM_CLASS = "CIM_ComputerSystem"
OBJECT_MANAGER_CLASS = "CIM_ObjectManager"


def object_manager_name(host: str) -> str:
    return f"cimprovider:{host}"


def object_manager_path(host: str) -> CIMInstanceName:
    return CIMInstanceName(
        OBJECT_MANAGER_CLASS,
        keybindings={
            "CreationClassName": OBJECT_MANAGER_CLASS,
            "Name": object_manager_name(host),
            "SystemCreationClassName": SYSTEM_CLASS,
            "SystemName": host,
        },
        namespace=INTEROP,
    )


# CIM_EnabledLogicalElement.RequestStateChange return codes (DSP1052).
COMPLETED, NOT_SUPPORTED, INVALID_PARAMETER = 0, 1, 5
ENABLED = 2


class ObjectManagerProvider(InstanceProvider, MethodProvider):
    """Exactly one CIM_ObjectManager: pywbem's WBEMServer takes the brand
    from ElementName and the version from Description."""

    classnames = (OBJECT_MANAGER_CLASS,)

    def invoke_method(
        self, ctx: OperationContext, target: CIMInstanceName | str, method: str, params: dict
    ) -> MethodReturn:
        """RequestStateChange: the object manager is always enabled and is
        not stopped over the wire (stop the process instead), so only a
        request for Enabled succeeds."""
        if method != "RequestStateChange" or isinstance(target, str):
            return super().invoke_method(ctx, target, method, params)
        if not same_path(target, object_manager_path(ctx.host)):
            raise instance_not_found(target)
        requested = params.get("RequestedState")
        if requested is None:
            return MethodReturn(INVALID_PARAMETER)
        return MethodReturn(COMPLETED if requested == ENABLED else NOT_SUPPORTED)

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        path = object_manager_path(ctx.host)
        yield CIMInstance(
            OBJECT_MANAGER_CLASS,
            properties={
                **path.keybindings,
                "ElementName": "cimprovider",
                "Caption": "cimprovider WBEM server",
                "Description": f"cimprovider WBEM server for the Hyper-V v2 model, version {__version__}",
                "EnabledState": Uint16(2),
                "RequestedState": Uint16(12),
                "OperationalStatus": [Uint16(2)],
                "HealthState": Uint16(5),
                "GatherStatisticalData": False,
            },
            path=path,
        )


class NamespaceProvider(InstanceProvider):
    """One CIM_Namespace per namespace the server holds."""

    classnames = ("CIM_Namespace",)

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for namespace in ctx.repository.namespaces():
            keys = {
                "SystemCreationClassName": SYSTEM_CLASS,
                "SystemName": ctx.host,
                "ObjectManagerCreationClassName": OBJECT_MANAGER_CLASS,
                "ObjectManagerName": object_manager_name(ctx.host),
                "CreationClassName": "CIM_Namespace",
                "Name": namespace,
            }
            path = CIMInstanceName("CIM_Namespace", keybindings=keys, namespace=INTEROP)
            yield CIMInstance(
                "CIM_Namespace",
                properties={
                    **keys,
                    "ElementName": namespace,
                    "ClassInfo": Uint16(0),
                    "ClassType": Uint16(0),
                    "DescriptionOfClassInfo": "CIM 2.x schema compiled from MOF",
                },
                path=path,
            )
