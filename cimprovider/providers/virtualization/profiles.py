"""The DMTF profiles the model realises, centred on the host and the VMs:
System Virtualization (DSP1042, the host), Virtual System (DSP1057, each
VM), and the component profiles scoped by them, centred on class-level
elements (the primordial pools and their allocation capabilities), so
answering them never walks the VMs: Resource Allocation (DSP1041, every
pool), Allocation Capabilities (DSP1043, every pool's capabilities),
Processor and Memory Resource Virtualization (DSP1044, DSP1045, the
processor and memory pools)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pywbem import CIMInstanceName

from cimprovider.providers.base import OperationContext
from cimprovider.providers.interop import Profile, ProfileCatalog
from cimprovider.providers.paths import same_path
from cimprovider.providers.virtualization import kinds
from cimprovider.providers.virtualization.kinds import ResourceKind
from cimprovider.providers.virtualization.model import CS, Virtualization
from cimprovider.providers.virtualization.resources.pools import ALLOCATION_CAPABILITIES, capabilities_id, pool_id

SYSTEM_VIRTUALIZATION = "System Virtualization"
VIRTUAL_SYSTEM = "Virtual System"
Central = Callable[[OperationContext], Iterator[CIMInstanceName]]


def register_profiles(catalog: ProfileCatalog, virt: Virtualization) -> None:
    def host(ctx: OperationContext) -> list[CIMInstanceName]:
        return [virt.host_path()]

    def vms(ctx: OperationContext) -> Iterator[CIMInstanceName]:
        for vm in virt.backend.list_vms():
            yield virt.vm_path(vm.id)

    def one_host(ctx: OperationContext, element: CIMInstanceName) -> CIMInstanceName | None:
        return virt.host_path() if same_path(element, virt.host_path()) else None

    def one_vm(ctx: OperationContext, element: CIMInstanceName) -> CIMInstanceName | None:
        vm_id = virt.vm_from_system(element) if element.classname.lower() == CS.lower() else None
        return virt.vm_path(vm_id) if vm_id is not None and virt.find_vm(vm_id) is not None else None

    def pools(*chosen: ResourceKind) -> Central:
        def central(ctx: OperationContext) -> Iterator[CIMInstanceName]:
            for kind in chosen:
                yield virt.setting_path(kind.pool_class, pool_id(kind))

        return central

    def capabilities(ctx: OperationContext) -> Iterator[CIMInstanceName]:
        for kind in kinds.KINDS:
            yield virt.setting_path(ALLOCATION_CAPABILITIES, capabilities_id(kind))

    namespace = virt.namespace
    pool_classes = tuple(dict.fromkeys(kind.pool_class for kind in kinds.KINDS))
    catalog.add(Profile(SYSTEM_VIRTUALIZATION, "1.0.0", central=host, central_namespace=namespace, central_classes=(CS,),
                        central_instance=one_host))
    catalog.add(Profile(VIRTUAL_SYSTEM, "1.0.0", central=vms, central_namespace=namespace, scoped_by=SYSTEM_VIRTUALIZATION,
                        central_classes=(CS,), central_instance=one_vm))
    components: tuple[tuple[str, Central, tuple[str, ...]], ...] = (
        ("Resource Allocation", pools(*kinds.KINDS), pool_classes),
        ("Allocation Capabilities", capabilities, (ALLOCATION_CAPABILITIES,)),
        ("Processor Resource Virtualization", pools(kinds.PROCESSOR), (kinds.PROCESSOR.pool_class,)),
        ("Memory Resource Virtualization", pools(kinds.MEMORY), (kinds.MEMORY.pool_class,)),
    )
    for name, central, classes in components:
        catalog.add(Profile(name, "1.0.0", central=central, central_namespace=namespace, scoped_by=SYSTEM_VIRTUALIZATION,
                            central_classes=classes))
