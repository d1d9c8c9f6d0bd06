"""What metering measures on a VM (the VM, its hard disk images, its
network connections) and the values it has for them: only while
collection is enabled for the VM, as on Hyper-V, where a VM whose metering
is off has no metric values."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol
from uuid import UUID, uuid5

from pywbem import CIMDateTime, CIMInstanceName, Uint8

from cimprovider.providers.virtualization import ids, kinds
from cimprovider.providers.virtualization.metrics.definitions import (
    ACL_IN,
    ACL_OUT,
    DEFINITIONS,
    DISK,
    PORT,
    VM,
    MetricDefinition,
    Window,
)
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.resources.resources import CONNECTION, MEDIA, vm_settings
from cimprovider.schemas.vm import VirtualMachine


ACL = "Msvm_EthernetSwitchPortAclSettingData"
# Hyper-V's GUID of the port ACL feature, in its settings' InstanceIDs.
ACL_FEATURE = UUID("998BEF4A-5D55-492A-9C43-8B2F5EAE9F2B")
_ACL_IDS = UUID("0b9f3f1e-6f43-4c1e-9d0e-2f8c4b7a1d55")
METER = 3


class Metering(Protocol):
    """The metering windows the metrics part keeps, per VM; `definitions`
    are definition GUIDs (None: every metric)."""

    def window(self, vm_id: UUID) -> Window | None: ...
    def definition_window(self, vm_id: UUID, definition: str) -> Window | None: ...
    def enable(self, vm_id: UUID, now: float, definitions: frozenset[str] | None = None) -> None: ...
    def restrict(self, vm_id: UUID, definitions: frozenset[str]) -> None: ...
    def disable(self, vm_id: UUID) -> None: ...
    def reset(self, vm_id: UUID, now: float, definitions: frozenset[str] | None = None) -> None: ...


@dataclass(frozen=True)
class Measured:
    """An element metering measures."""

    scope: str  # VM, DISK, PORT, ACL_IN or ACL_OUT
    path: CIMInstanceName
    name: str
    device_id: UUID | None  # None for the VM itself
    # False for an element that counts none of its device's figures: the
    # IPv6 metering ACLs (see acls.py).
    counted: bool = True
    values: dict[str, Any] | None = None  # the element's own instance, for those metering creates (ACLs)


@dataclass(frozen=True)
class MetricValue:
    definition: MetricDefinition
    element: Measured
    values: dict[str, Any]

    @property
    def classname(self) -> str:
        return self.definition.value_class


def measured_elements(virt: Virtualization, vm: VirtualMachine, metering: Metering | None = None) -> list[Measured]:
    """The VM, its disks and connections, and — while its traffic is
    metered (`metering` given) — the metering ACLs of its ports."""
    found = [Measured(VM, virt.vm_path(vm.id), vm.name, None)]
    traffic = metering is not None and any(
        metering.definition_window(vm.id, d.guid) is not None for d in DEFINITIONS if PORT in d.applies_to)
    for setting in vm_settings(virt, vm):
        if setting.aspect == MEDIA and setting.kind is kinds.HARD_DISK:
            scope = DISK
        elif setting.aspect == CONNECTION:
            scope = PORT
        else:
            continue
        path = virt.setting_path(setting.kind.classname, setting.instance_id)
        found.append(Measured(scope, path, setting.values.get("ElementName") or "", setting.device.id))
        if scope == PORT and traffic:
            found += metering_acls(virt, setting.instance_id, setting.device.id)
    return found


def metering_acls(virt: Virtualization, port_id: str, adapter_id: UUID) -> list[Measured]:
    """Hyper-V's metering ACLs of a port: each direction, for every IPv4
    and every IPv6 remote address. The hypervisor counts an adapter's
    bytes, not its bytes per address family, so the IPv4 entries carry the
    adapter's traffic and the IPv6 entries none (their sum is the port's)."""
    found = []
    for direction, scope in ((1, ACL_IN), (2, ACL_OUT)):
        for acl_type, address, counted in ((2, "0.0.0.0", True), (3, "::", False)):
            guid = uuid5(_ACL_IDS, f"{port_id}|{direction}|{acl_type}")
            instance_id = f"{port_id}\\{ids.guid(ACL_FEATURE)}\\{ids.guid(guid)}"
            values = {
                "InstanceID": instance_id, "ElementName": "Ethernet Switch Port ACL Settings", "Caption": "Metering ACL",
                "Description": "Counts the port's traffic for resource metering.",
                "Direction": Uint8(direction), "Applicability": Uint8(2), "AclType": Uint8(acl_type), "Action": Uint8(METER),
                "LocalAddress": "", "LocalAddressPrefixLength": Uint8(0), "RemoteAddress": address, "RemoteAddressPrefixLength": Uint8(0),
            }
            path = virt.renderer.reference(ACL, {"InstanceID": instance_id})
            found.append(Measured(scope, path, f"{address}/0", adapter_id, counted, values))
    return found


def value_id(vm_id: UUID, element: Measured, definition: MetricDefinition) -> str:
    device = f"\\{ids.guid(element.device_id)}" if element.device_id is not None else ""
    if element.values is not None:  # an ACL: one value each, named by the ACL's own GUID
        acl_guid = str(element.values["InstanceID"]).rsplit("\\", 1)[-1]
        device += f"\\{acl_guid}"
    return f"{ids.vssd_id(vm_id)}{device}\\{definition.guid}"


def metric_values(virt: Virtualization, metering: Metering, vm: VirtualMachine) -> Iterator[MetricValue]:
    if metering.window(vm.id) is None:
        return
    windows = {d.guid: metering.definition_window(vm.id, d.guid) for d in DEFINITIONS}
    for element in measured_elements(virt, vm, metering):
        for definition in DEFINITIONS:
            window = windows[definition.guid]
            if window is not None and element.scope in definition.applies_to:
                yield MetricValue(definition, element, _values(vm, window, definition, element))


def _values(vm: VirtualMachine, window: Window, definition: MetricDefinition, element: Measured) -> dict[str, Any]:
    if not element.counted:
        devices = []
    elif element.device_id is None:
        devices = list(window.devices.values())
    else:
        devices = [window.devices[element.device_id]] if element.device_id in window.devices else []
    return {
        "InstanceId": value_id(vm.id, element, definition),
        "MetricDefinitionId": definition.id,
        "MeasuredElementName": element.name,
        "ElementName": definition.name,
        "Caption": definition.name,
        # An integer as a string: clients call int() on it.
        "MetricValue": str(int(definition.read(window, devices))),
        "TimeStamp": _moment(window.updated_at),
        "Duration": _interval(window.updated_at - window.started_at),
        "AggregationTimeStamp": _moment(window.started_at),
        "AggregationDuration": _interval(window.updated_at - window.started_at),
        "Volatile": True,
    }


def _moment(epoch: float) -> CIMDateTime:
    return CIMDateTime(datetime.fromtimestamp(epoch, timezone.utc))


def _interval(seconds: float) -> CIMDateTime:
    return CIMDateTime(timedelta(seconds=max(0.0, seconds)))
