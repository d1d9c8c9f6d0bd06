"""Msvm_MetricService ("metricsvc"): turning resource metering on, off or
back to zero, for one VM (named by itself, one of its disks or network
connections), for every VM a definition can measure, or for every
instance of a class. Metering is kept per VM: enabling any of a VM's
metrics meters all of them, as Measure-VM reports them together."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from pywbem import CIM_ERR_INVALID_PARAMETER, CIM_ERR_NOT_FOUND, CIMClassName, CIMError, CIMInstance, CIMInstanceName

from cimprovider.providers.base import InstanceProvider, MethodProvider, MethodReturn, OperationContext, PropertySet, Pushdown
from cimprovider.providers.virtualization import ids, kinds
from cimprovider.providers.virtualization.associations import key
from cimprovider.providers.virtualization.metrics.definitions import (
    DEFINITION_CLASSES,
    DEFINITIONS,
    DISK,
    PORT,
    VM,
    MetricDefinition,
    definition_by_id,
)
from cimprovider.providers.virtualization.metrics.values import Metering
from cimprovider.providers.virtualization.model import CS, Virtualization
from cimprovider.providers.virtualization.systems.states import RUNNING_SERVICE

METRIC_SERVICE = "Msvm_MetricService"
METRIC_SERVICE_NAME = "metricsvc"
ENABLE, DISABLE, RESET = 2, 3, 4
SUCCESS, NOT_SUPPORTED = 0, 1
# Classes whose instances metering measures: the VM and its disk images and
# network connections.
METERED_CLASSES = {CS.lower(): VM, kinds.HARD_DISK.classname.lower(): DISK, kinds.CONNECTION.classname.lower(): PORT}
_SCOPE_NAMES = {VM: "a virtual machine", DISK: "a virtual hard disk", PORT: "a network connection"}


class MetricService(InstanceProvider, MethodProvider):
    classnames = (METRIC_SERVICE,)

    def __init__(self, virt: Virtualization, metering: Metering) -> None:
        self.virt = virt
        self.metering = metering

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        values = {
            **self.virt.service_path(METRIC_SERVICE, METRIC_SERVICE_NAME).keybindings,
            "ElementName": "Metric Service",
            "Caption": "Hyper-V Metric Service",
            "Description": "Controls resource metering of virtual machines.",
            **RUNNING_SERVICE,
        }
        yield self.virt.renderer.instance(METRIC_SERVICE, values, properties)

    def invoke_method(self, ctx: OperationContext, target: CIMInstanceName | str, method: str, params: dict[str, Any]) -> MethodReturn:
        if method.lower() == "controlmetrics":
            return self.control(params, by_class=False)
        if method.lower() == "controlmetricsbyclass":
            return self.control(params, by_class=True)
        return super().invoke_method(ctx, target, method, params)

    def control(self, params: dict[str, Any], by_class: bool) -> MethodReturn:
        operation = params.get("MetricCollectionEnabled")
        if operation not in (ENABLE, DISABLE, RESET):
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"MetricCollectionEnabled {operation}: give 2 (enable), 3 (disable) or 4 (reset)")
        definition = _definition(params.get("Definition"))
        subject = params.get("Subject")
        if subject is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER, "Subject: name the element (or, by class, the class) to meter")
        target = self._by_class(subject) if by_class else self._subject(subject)
        if target is None:
            return MethodReturn(NOT_SUPPORTED)
        vm_ids, scope, named = target
        definitions = _chosen(definition or named, scope)
        now = time.time()
        for vm_id in vm_ids:
            self._apply(operation, vm_id, definitions, now)
        return MethodReturn(SUCCESS)

    def _apply(self, operation: int, vm_id: UUID, definitions: frozenset[str] | None, now: float) -> None:
        if operation == ENABLE:
            self.metering.enable(vm_id, now, definitions)
        elif operation == RESET:
            self.metering.reset(vm_id, now, definitions)
        elif definitions is None:
            self.metering.disable(vm_id)
        elif (window := self.metering.window(vm_id)) is not None:
            metered = set(window.definitions) if window.definitions is not None else {d.guid for d in DEFINITIONS}
            self.metering.restrict(vm_id, frozenset(metered - definitions))

    def _every_vm(self) -> list[UUID]:
        return [vm.id for vm in self.virt.backend.list_vms()]

    def _by_class(self, subject: Any) -> Target | None:
        classname = subject.classname if isinstance(subject, (CIMClassName, CIMInstanceName)) else str(subject)
        scope = METERED_CLASSES.get(classname.lower())
        return (self._every_vm(), scope, None) if scope is not None else None

    def _subject(self, subject: Any) -> Target | None:
        if not isinstance(subject, CIMInstanceName):
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"Subject {subject} is not an instance path")
        classname = subject.classname.lower()
        if classname in {c.lower() for c in DEFINITION_CLASSES}:
            # Every element the definition measures.
            return self._every_vm(), None, _definition(subject)
        scope = METERED_CLASSES.get(classname)
        if scope is None:
            return None
        if scope == VM:
            name = str(key(subject, "Name") or "")
            if name.lower() == self.virt.host_name.lower():
                return self._every_vm(), None, None
            vm_id = ids.parse_guid(name)
        else:
            ref = ids.parse_setting_id(str(key(subject, "InstanceID") or ""))
            vm_id = ref.vm_id if ref is not None else None
        return [self.virt.vm_or_not_found(vm_id, subject).id], scope, None


# The VMs a request meters, the kind of element it names (None: any), and
# the definition the subject itself is, if it is one.
Target = tuple[list[UUID], str | None, MetricDefinition | None]


def _definition(path: Any) -> MetricDefinition | None:
    if path is None:
        return None
    found = definition_by_id(str(key(path, "Id") or ""))
    if found is None:
        raise CIMError(CIM_ERR_NOT_FOUND, f"no metric definition {path}")
    return found


def _chosen(definition: MetricDefinition | None, scope: str | None) -> frozenset[str] | None:
    """The metrics a request is about (None: every one): the definition
    it names, or those that measure the kind of element it names."""
    if definition is not None:
        if scope is not None and scope not in definition.applies_to:
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"Definition: {definition.name!r} does not measure {_SCOPE_NAMES[scope]}")
        return frozenset({definition.guid})
    if scope is None or scope == VM:
        return None
    return frozenset(d.guid for d in DEFINITIONS if scope in d.applies_to)
