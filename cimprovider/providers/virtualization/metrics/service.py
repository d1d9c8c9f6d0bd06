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
from cimprovider.providers.virtualization.metrics.definitions import DEFINITION_CLASSES, definition_by_id
from cimprovider.providers.virtualization.metrics.values import Metering
from cimprovider.providers.virtualization.model import CS, Virtualization
from cimprovider.providers.virtualization.systems.states import RUNNING_SERVICE

METRIC_SERVICE = "Msvm_MetricService"
METRIC_SERVICE_NAME = "metricsvc"
ENABLE, DISABLE, RESET = 2, 3, 4
SUCCESS, NOT_SUPPORTED = 0, 1
# Classes whose instances metering measures: the VM and its disk images and
# network connections.
METERED_CLASSES = frozenset(c.lower() for c in (CS, kinds.HARD_DISK.classname, kinds.CONNECTION.classname))


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
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"MetricCollectionEnabled {operation!r}: give 2 (enable), 3 (disable) or 4 (reset)")
        definition = params.get("Definition")
        if definition is not None and definition_by_id(str(key(definition, "Id") or "")) is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no metric definition {definition}")
        subject = params.get("Subject")
        if subject is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER, "Subject: name the element (or, by class, the class) to meter")
        vm_ids = self._by_class(subject) if by_class else self._subject_vms(subject)
        if vm_ids is None:
            return MethodReturn(NOT_SUPPORTED)
        now = time.time()
        for vm_id in vm_ids:
            if operation == ENABLE:
                self.metering.enable(vm_id, now)
            elif operation == DISABLE:
                self.metering.disable(vm_id)
            else:
                self.metering.reset(vm_id, now)
        return MethodReturn(SUCCESS)

    def _every_vm(self) -> list[UUID]:
        return [vm.id for vm in self.virt.backend.list_vms()]

    def _by_class(self, subject: Any) -> list[UUID] | None:
        classname = subject.classname if isinstance(subject, (CIMClassName, CIMInstanceName)) else str(subject)
        return self._every_vm() if classname.lower() in METERED_CLASSES else None

    def _subject_vms(self, subject: Any) -> list[UUID] | None:
        if not isinstance(subject, CIMInstanceName):
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"Subject {subject!r} is not an instance path")
        classname = subject.classname.lower()
        if classname in {c.lower() for c in DEFINITION_CLASSES}:
            return self._every_vm()  # every element the definition measures
        if classname not in METERED_CLASSES:
            return None
        if classname == CS.lower():
            name = str(key(subject, "Name") or "")
            if name.lower() == self.virt.host_name.lower():
                return self._every_vm()
            vm_id = ids.parse_guid(name)
        else:
            ref = ids.parse_setting_id(str(key(subject, "InstanceID") or ""))
            vm_id = ref.vm_id if ref is not None else None
        return [self.virt.vm_or_not_found(vm_id, subject).id]
