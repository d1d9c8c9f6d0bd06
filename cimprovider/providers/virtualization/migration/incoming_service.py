"""Cimprovider_IncomingMigrationService: the destination's half of a
migration, called by the source host (with the admin role every method
needs): PrepareIncoming checks an offer and, unless CheckOnly, accepts
it with a one-time upload token; CommitIncoming adopts the VM once its
files arrived; AbortIncoming drops a migration and its files;
ArrivalState says whether the VM is here, or still being adopted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError
from pywbem import CIMInstance, CIMInstanceName, Uint16

from cimprovider.providers.base import (
    InstanceProvider,
    MethodProvider,
    MethodReturn,
    OperationContext,
    PropertySet,
    Pushdown,
)
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.migration.engine import MigrationEngine, reasons_of
from cimprovider.providers.virtualization.model import Virtualization

INCOMING_SERVICE = "Cimprovider_IncomingMigrationService"
ACCEPTED, REFUSED, INVALID_PARAMETER = 0, 32768, 32773


class IncomingMigrationProvider(InstanceProvider, MethodProvider):
    classnames = (INCOMING_SERVICE,)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt
        self.engine: MigrationEngine | None = None

    def path(self) -> CIMInstanceName:
        return CIMInstanceName(INCOMING_SERVICE, keybindings={"Name": "incoming"}, namespace=self.virt.namespace)

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        values = {
            "Name": "incoming",
            "CreationClassName": INCOMING_SERVICE,
            "SystemCreationClassName": "Msvm_ComputerSystem",
            "SystemName": self.virt.host_name,
            "ElementName": "Incoming Migration Service",
            "EnabledState": 2,
            "Started": self.engine is not None,
        }
        yield self.virt.renderer.instance(INCOMING_SERVICE, values, properties)

    def invoke_method(self, ctx: OperationContext, target: CIMInstanceName | str, method: str, params: dict[str, Any]) -> MethodReturn:
        name = method.lower()
        if self.engine is None or name not in ("prepareincoming", "commitincoming", "abortincoming", "arrivalstate"):
            return super().invoke_method(ctx, target, method, params)
        try:
            if name == "prepareincoming":
                offer = params.get("Offer")
                if not isinstance(offer, str):
                    return MethodReturn(INVALID_PARAMETER, {"Reasons": ["Offer: the offer (JSON) is required"]})
                check_only = bool(params.get("CheckOnly"))
                token = self.engine.prepare_incoming(offer, check_only)
                # Named for a check too, so the source can refuse a URI it would not use before any move.
                uri = self.engine.hypervisor_uri() if token or check_only else None
                return MethodReturn(ACCEPTED, {"Token": token, "HypervisorURI": uri, "Reasons": []})
            if name == "commitincoming":
                self.engine.commit_incoming(str(params.get("Token") or ""))
                return MethodReturn(ACCEPTED, {"Reasons": []})
            vm_name = params.get("VirtualSystemName")
            if name == "arrivalstate":
                vm_id = ids.parse_guid(vm_name) if isinstance(vm_name, str) else None
                if vm_id is None:
                    return MethodReturn(INVALID_PARAMETER, {"Reasons": [f"VirtualSystemName: {vm_name!r} is not a VM's Name"]})
                return MethodReturn(ACCEPTED, {"State": Uint16(self.engine.arrival_state(vm_id))})
            self.engine.abort_incoming(params.get("Token") or None, ids.parse_guid(vm_name) if isinstance(vm_name, str) else None)
            return MethodReturn(ACCEPTED)
        except ValidationError as error:
            return MethodReturn(INVALID_PARAMETER, {"Reasons": [f"Offer: {error.errors()[0]['msg']}"]})
        except Exception as error:  # noqa: BLE001 - a refusal's reasons go back to the source
            return MethodReturn(REFUSED, {"Reasons": reasons_of(error)})
