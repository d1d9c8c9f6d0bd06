"""A CIM_AlertIndication for every change of a VM's health, raised in
root/virtualization/v2 through the subscriptions clients already have:
PerceivedSeverity from the new HealthState, AlertingManagedElement the
VM's path, and a Description a person can act on."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timezone

from pywbem import CIMDateTime, CIMInstance, Uint16

from cimprovider.events import Subscription
from cimprovider.providers.virtualization.model import CS, Virtualization
from cimprovider.schemas.events import EventBase, VmHealthChanged

ALERT = "CIM_AlertIndication"
# HealthState → PerceivedSeverity.
SEVERITY = {5: 2, 10: 3, 15: 4, 20: 5, 25: 6, 30: 7}
DEVICE_ALERT, CIM_OBJECT_PATH = 5, 2
# DMTF's ProbableCause 0 Unknown; a vanished disk file is a storage fault
# (ProbableCause "Storage Capacity Problem" does not fit): say so in words.
UNKNOWN_CAUSE = 0
Raise = Callable[[str, CIMInstance], None]


def raise_alerts(virt: Virtualization, raise_indication: Raise) -> Subscription:
    def on_change(event: EventBase) -> None:
        if isinstance(event, VmHealthChanged):
            raise_indication(virt.namespace, alert(virt, event))

    return virt.backend.events.subscribe(on_change, (VmHealthChanged,))


def alert(virt: Virtualization, event: VmHealthChanged) -> CIMInstance:
    vm = virt.find_vm(event.vm_id)
    name = vm.name if vm is not None else str(event.vm_id)
    healthy = event.health.health_state == 5
    if healthy:
        description = f"Virtual machine {name} is healthy again ({'; '.join(event.previous.descriptions)} no longer)"
    else:
        description = f"Virtual machine {name}: {'; '.join(event.health.descriptions)}"
    properties = {
        "IndicationIdentifier": str(uuid.uuid4()),
        "IndicationTime": CIMDateTime(datetime.now(timezone.utc)),
        "AlertingManagedElement": virt.text(virt.vm_path(event.vm_id)),
        "AlertingElementFormat": Uint16(CIM_OBJECT_PATH),
        "AlertType": Uint16(DEVICE_ALERT),
        "PerceivedSeverity": Uint16(SEVERITY.get(event.health.health_state, 0)),
        "ProbableCause": Uint16(UNKNOWN_CAUSE),
        "ProbableCauseDescription": "; ".join(event.health.descriptions if not healthy else event.previous.descriptions),
        "Description": description,
        "SystemName": virt.host_name,
        "SystemCreationClassName": CS,
        "OwningEntity": "cimprovider",
        "MessageID": "VM0001" if not healthy else "VM0002",
        "Message": description,
    }
    return virt.renderer.embedded(ALERT, properties, only_given=True)
