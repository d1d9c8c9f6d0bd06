"""A CIM_AlertIndication for every change of health — of a VM, of the
host, of a VM's heartbeat component — raised in root/virtualization/v2
through the subscriptions clients already have: PerceivedSeverity from
the new HealthState, AlertingManagedElement the element's path,
ProbableCause the DMTF code of the worst problem ("Previous Alert
Cleared" when it is healthy again), and a Description a person can act on."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timezone

from pywbem import CIMDateTime, CIMInstance, CIMInstanceName, Uint16

from cimprovider.events import Subscription
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.model import CS, Virtualization
from cimprovider.providers.virtualization.resources.components import COMPONENT_CLASSES
from cimprovider.schemas.events import ComponentHealthChanged, EventBase, HostHealthChanged, VmHealthChanged

ALERT = "CIM_AlertIndication"
# HealthState → PerceivedSeverity.
SEVERITY = {5: 2, 10: 3, 15: 4, 20: 5, 25: 6, 30: 7}
DEVICE_ALERT, CIM_OBJECT_PATH = 5, 2
PREVIOUS_ALERT_CLEARED = 59
_HEALTH_EVENTS = (VmHealthChanged, HostHealthChanged, ComponentHealthChanged)
Raise = Callable[[str, CIMInstance], None]
AnyHealthChange = VmHealthChanged | HostHealthChanged | ComponentHealthChanged


def raise_alerts(virt: Virtualization, raise_indication: Raise) -> Subscription:
    def on_change(event: EventBase) -> None:
        if isinstance(event, _HEALTH_EVENTS):
            found = subject(virt, event)
            if found is not None:
                raise_indication(virt.namespace, alert(virt, event, *found))

    return virt.backend.events.subscribe(on_change, _HEALTH_EVENTS)


def subject(virt: Virtualization, event: AnyHealthChange) -> tuple[CIMInstanceName, str] | None:
    """The element whose health changed, and what a person calls it."""
    if isinstance(event, HostHealthChanged):
        return virt.host_path(), f"Host {virt.host_name}"
    vm = virt.find_vm(event.vm_id)
    name = vm.name if vm is not None else str(event.vm_id)
    if isinstance(event, VmHealthChanged):
        return virt.vm_path(event.vm_id), f"Virtual machine {name}"
    service = next((s for s in vm.integration_services if s.service is event.component), None) if vm is not None else None
    if service is None:
        return None  # the VM or its component is gone: nothing left to alert about
    classname = COMPONENT_CLASSES[event.component]
    path = virt.renderer.reference(classname, {
        "CreationClassName": classname,
        "DeviceID": f"{ids.device_id(event.vm_id)}\\{ids.guid(service.id)}",
        "SystemCreationClassName": CS,
        "SystemName": ids.guid(event.vm_id),
    })
    return path, f"The {event.component.value.replace('_', ' ')} component of virtual machine {name}"


def alert(virt: Virtualization, event: AnyHealthChange, path: CIMInstanceName, who: str) -> CIMInstance:
    healthy = event.health.health_state == 5
    problems = event.previous if healthy else event.health
    if healthy:
        description = f"{who} is healthy again ({'; '.join(problems.descriptions)} no longer)"
    else:
        description = f"{who}: {'; '.join(problems.descriptions)}"
    properties = {
        "IndicationIdentifier": str(uuid.uuid4()),
        "IndicationTime": CIMDateTime(datetime.now(timezone.utc)),
        "AlertingManagedElement": virt.text(path),
        "AlertingElementFormat": Uint16(CIM_OBJECT_PATH),
        "AlertType": Uint16(DEVICE_ALERT),
        "PerceivedSeverity": Uint16(SEVERITY.get(event.health.health_state, 0)),
        "ProbableCause": Uint16(PREVIOUS_ALERT_CLEARED if healthy else problems.probable_cause),
        "ProbableCauseDescription": "; ".join(problems.descriptions),
        "Description": description,
        "SystemName": virt.host_name,
        "SystemCreationClassName": CS,
        "OwningEntity": "cimprovider",
        "MessageID": _message_id(event, healthy),
        "Message": description,
    }
    return virt.renderer.embedded(ALERT, properties, only_given=True)


def _message_id(event: AnyHealthChange, healthy: bool) -> str:
    # One pair per element kind: the failure, and its clearing.
    base = {VmHealthChanged: 1, HostHealthChanged: 3, ComponentHealthChanged: 5}[type(event)]
    return f"VM{base + (1 if healthy else 0):04d}"

