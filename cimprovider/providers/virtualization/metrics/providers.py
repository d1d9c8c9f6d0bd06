"""The metric definitions, the metric values of metered VMs, and the
associations scripts follow between them and the measured elements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.providers.base import InstanceProvider, OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.associations import Pair, PerVm, key, same_instance
from cimprovider.providers.virtualization.metrics.definitions import (
    DEFINITION_CLASSES,
    DEFINITIONS,
    VALUE_CLASSES,
    MetricDefinition,
    definition_values,
)
from cimprovider.providers.virtualization.metrics.values import Metering, measured_elements, metric_values
from cimprovider.providers.virtualization.model import Virtualization


_DEFINITION_CLASSES = frozenset(name.lower() for name in DEFINITION_CLASSES)


def _is_definition(path: CIMInstanceName) -> bool:
    return path.classname.lower() in _DEFINITION_CLASSES


def definition_path(virt: Virtualization, definition: MetricDefinition) -> CIMInstanceName:
    return virt.renderer.reference(definition.classname, {"Id": definition.id})


class MetricDefinitionProvider(InstanceProvider):
    classnames = DEFINITION_CLASSES

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for definition in DEFINITIONS:
            if definition.classname.lower() == classname.lower():
                yield self.virt.renderer.instance(definition.classname, definition_values(definition), properties)


class MetricValueProvider(InstanceProvider):
    classnames = VALUE_CLASSES

    def __init__(self, virt: Virtualization, metering: Metering) -> None:
        self.virt = virt
        self.metering = metering

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for vm in self.virt.sorted_vms(self.virt.backend.list_vms()):
            yield from self._of_vm(vm, classname, properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        wanted = str(key(path, "InstanceId") or "")
        ref = ids.parse_setting_id(wanted)
        vm = self.virt.find_vm(ref.vm_id) if ref is not None else None
        if vm is not None:
            for instance in self._of_vm(vm, path.classname, properties, with_key=True):
                if instance["InstanceId"].lower() == wanted.lower():
                    return instance
        raise instance_not_found(path)

    def _of_vm(self, vm: Any, classname: str, properties: PropertySet, with_key: bool = False) -> Iterator[CIMInstance]:
        keep = properties | {"instanceid"} if with_key and properties is not None else properties
        for value in metric_values(self.virt, self.metering, vm):
            if value.classname.lower() == classname.lower():
                yield self.virt.renderer.instance(value.classname, value.values, keep)


class _Metered(PerVm):
    """Per-VM pairs; a definition (which names no VM) is looked up among
    every VM's pairs. Anything else that names no VM (the host, a
    snapshot's settings) is in no pair, and costs nothing."""

    def __init__(self, virt: Virtualization, metering: Metering) -> None:
        super().__init__(virt)
        self.metering = metering

    def rights(self, left: CIMInstanceName) -> Iterator[CIMInstanceName]:
        if _is_definition(left):
            return (r for l, r in self.pairs() if same_instance(l, left))
        return super().rights(left)

    def lefts(self, right: CIMInstanceName) -> Iterator[CIMInstanceName]:
        if _is_definition(right):
            return (l for l, r in self.pairs() if same_instance(r, right))
        return super().lefts(right)

    def value_path(self, classname: str, values: dict[str, Any]) -> CIMInstanceName:
        return self.virt.renderer.reference(classname, {"InstanceId": values["InstanceId"]})


class MetricForME(_Metered):
    classname = "Msvm_MetricForME"
    roles = ("Antecedent", "Dependent")

    def vm_pairs(self, vm: Any) -> Iterator[Pair]:
        for value in metric_values(self.virt, self.metering, vm):
            yield value.element.path, self.value_path(value.classname, value.values)


class MetricInstance(_Metered):
    classname = "Msvm_MetricInstance"
    roles = ("Antecedent", "Dependent")

    def vm_pairs(self, vm: Any) -> Iterator[Pair]:
        for value in metric_values(self.virt, self.metering, vm):
            yield definition_path(self.virt, value.definition), self.value_path(value.classname, value.values)


class MetricDefForME(_Metered):
    """Every element with the definitions that can measure it, whether or
    not collection is on."""

    classname = "Msvm_MetricDefForME"
    roles = ("Antecedent", "Dependent")

    def vm_pairs(self, vm: Any) -> Iterator[Pair]:
        for element in measured_elements(self.virt, vm, self.metering):
            for definition in DEFINITIONS:
                if element.scope in definition.applies_to:
                    yield element.path, definition_path(self.virt, definition)
