"""Msvm_EthernetSwitchPortAclSettingData: the metering ACLs resource
metering puts on a VM's switch ports while their traffic is metered
(values.metering_acls builds them), each with its network metric value
through Msvm_MetricForME — the road os-win's get_vnic_metrics takes.
Read-only: this host filters no traffic, so it takes no ACLs of a client's."""

from __future__ import annotations

from collections.abc import Iterator

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.providers.base import InstanceProvider, OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.associations import key
from cimprovider.providers.virtualization.metrics.values import ACL, Metering, measured_elements
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.schemas.vm import VirtualMachine


class MeteringAclProvider(InstanceProvider):
    classnames = (ACL,)

    def __init__(self, virt: Virtualization, metering: Metering) -> None:
        self.virt = virt
        self.metering = metering

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for vm in self.virt.sorted_vms(self.virt.backend.list_vms()):
            yield from self._of_vm(vm, properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        wanted = str(key(path, "InstanceID") or "")
        ref = ids.parse_setting_id(wanted)
        vm = self.virt.find_vm(ref.vm_id) if ref is not None else None
        if vm is not None:
            keep = properties | {"instanceid"} if properties is not None else None
            for instance in self._of_vm(vm, keep):
                if str(instance["InstanceID"]).lower() == wanted.lower():
                    return instance
        raise instance_not_found(path)

    def _of_vm(self, vm: VirtualMachine, properties: PropertySet) -> Iterator[CIMInstance]:
        for element in measured_elements(self.virt, vm, self.metering):
            if element.values is not None:
                yield self.virt.renderer.instance(ACL, element.values, properties)
