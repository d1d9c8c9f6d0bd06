"""The DMTF profiles the model realises, centred on the host and the VMs:
System Virtualization (DSP1042, the host), Virtual System (DSP1057, each
VM), and the component profiles scoped by them."""

from __future__ import annotations

from collections.abc import Iterator

from pywbem import CIMInstanceName

from cimprovider.providers.base import OperationContext
from cimprovider.providers.interop import Profile, ProfileCatalog
from cimprovider.providers.virtualization.model import Virtualization

SYSTEM_VIRTUALIZATION = "System Virtualization"
VIRTUAL_SYSTEM = "Virtual System"


def register_profiles(catalog: ProfileCatalog, virt: Virtualization) -> None:
    def host(ctx: OperationContext) -> list[CIMInstanceName]:
        return [virt.host_path()]

    def vms(ctx: OperationContext) -> Iterator[CIMInstanceName]:
        for vm in virt.backend.list_vms():
            yield virt.vm_path(vm.id)

    namespace = virt.namespace
    catalog.add(Profile(SYSTEM_VIRTUALIZATION, "1.0.0", central=host, central_namespace=namespace))
    catalog.add(Profile(VIRTUAL_SYSTEM, "1.0.0", central=vms, central_namespace=namespace, scoped_by=SYSTEM_VIRTUALIZATION))
    for name in ("Resource Allocation", "Allocation Capabilities", "Processor Resource Virtualization", "Memory Resource Virtualization"):
        catalog.add(Profile(name, "1.0.0", scoped_by=SYSTEM_VIRTUALIZATION))
