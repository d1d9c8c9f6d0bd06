"""Msvm_SecuritySettingData: one per VM, InstanceID
`Microsoft:<VMGUID>\\Security`, found as os-win finds it
(`InstanceID LIKE 'Microsoft:<VM GUID>%'`). The backends give a VM no
virtual TPM and no shielding, so every flag is off; they are read-only
here (Hyper-V changes them through Msvm_SecurityService, which this model
does not offer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pywbem import CIMInstance, CIMInstanceName

from cimprovider.providers.base import InstanceProvider, OperationContext, PropertySet, Pushdown, instance_not_found
from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.schemas.vm import VirtualMachine

SECURITY_SD = "Msvm_SecuritySettingData"
SUFFIX = "Security"


def security_id(vm: VirtualMachine) -> str:
    return f"{ids.vssd_id(vm.id)}\\{SUFFIX}"


def security_values(vm: VirtualMachine) -> dict[str, Any]:
    return {
        "InstanceID": security_id(vm),
        "ElementName": "Security Settings",
        "Caption": "Security Settings",
        "Description": "The virtual machine's virtual TPM and shielding: neither is offered by this host.",
        "TpmEnabled": False,
        "ShieldingRequested": False,
        "EncryptStateAndVmMigrationTraffic": False,
        "DataProtectionRequested": False,
        "VirtualizationBasedSecurityOptOut": False,
        "BindToHostTpm": False,
    }


class SecuritySettingsProvider(InstanceProvider):
    classnames = (SECURITY_SD,)

    def __init__(self, virt: Virtualization) -> None:
        self.virt = virt

    def enumerate_instances(
        self, ctx: OperationContext, classname: str, properties: PropertySet, pushdown: Pushdown | None = None
    ) -> Iterator[CIMInstance]:
        for vm in self.virt.vms(pushdown):
            yield self.virt.renderer.instance(SECURITY_SD, security_values(vm), properties)

    def get_instance(self, ctx: OperationContext, path: CIMInstanceName, properties: PropertySet) -> CIMInstance:
        instance_id = next((v for k, v in path.keybindings.items() if k.lower() == "instanceid"), None)
        ref = ids.parse_setting_id(instance_id) if isinstance(instance_id, str) else None
        vm = self.virt.find_vm(ref.vm_id) if ref is not None and [p.lower() for p in ref.parts] == [SUFFIX.lower()] else None
        if vm is None:
            raise instance_not_found(path)
        return self.virt.renderer.instance(SECURITY_SD, security_values(vm), properties)
