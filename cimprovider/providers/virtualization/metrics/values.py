"""What metering measures on a VM (the VM, its hard disk images, its
network connections) and the values it has for them: only while
collection is enabled for the VM, as on Hyper-V, where a VM whose metering
is off has no metric values."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol
from uuid import UUID

from pywbem import CIMDateTime, CIMInstanceName

from cimprovider.providers.virtualization import ids, kinds
from cimprovider.providers.virtualization.metrics.definitions import (
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

    scope: str  # VM, DISK or PORT
    path: CIMInstanceName
    name: str
    device_id: UUID | None  # None for the VM itself


@dataclass(frozen=True)
class MetricValue:
    definition: MetricDefinition
    element: Measured
    values: dict[str, Any]

    @property
    def classname(self) -> str:
        return self.definition.value_class


def measured_elements(virt: Virtualization, vm: VirtualMachine) -> list[Measured]:
    found = [Measured(VM, virt.vm_path(vm.id), vm.name, None)]
    for setting in vm_settings(virt, vm):
        if setting.aspect == MEDIA and setting.kind is kinds.HARD_DISK:
            scope = DISK
        elif setting.aspect == CONNECTION:
            scope = PORT
        else:
            continue
        path = virt.setting_path(setting.kind.classname, setting.instance_id)
        found.append(Measured(scope, path, setting.values.get("ElementName") or "", setting.device.id))
    return found


def value_id(vm_id: UUID, element: Measured, definition: MetricDefinition) -> str:
    device = f"\\{ids.guid(element.device_id)}" if element.device_id is not None else ""
    return f"{ids.vssd_id(vm_id)}{device}\\{definition.guid}"


def metric_values(virt: Virtualization, metering: Metering, vm: VirtualMachine) -> Iterator[MetricValue]:
    if metering.window(vm.id) is None:
        return
    windows = {d.guid: metering.definition_window(vm.id, d.guid) for d in DEFINITIONS}
    for element in measured_elements(virt, vm):
        for definition in DEFINITIONS:
            window = windows[definition.guid]
            if window is not None and element.scope in definition.applies_to:
                yield MetricValue(definition, element, _values(vm, window, definition, element))


def _values(vm: VirtualMachine, window: Window, definition: MetricDefinition, element: Measured) -> dict[str, Any]:
    if element.device_id is None:
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
