"""The libvirt host as Hyper-V shows a host: its figures, and the bridges
VMs use directly as virtual switches (its networks: networks.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from uuid import UUID

import libvirt
from lxml import etree

from cimprovider.backends.errors import BackendError, InvalidStateError
from cimprovider.backends.libvirt.pci_devices import host_pci_devices
from cimprovider.backends.libvirt.identity import bridge_switch_id, model_mac, random_mac
from cimprovider.schemas.host import Host, NumaNode, VirtualSwitch


def describe_host(
    conn: libvirt.virConnect, roots: Sequence[str], passthrough_disks: Sequence[str] = (), pci_allowed: Sequence[str] = ()
) -> Host:
    """`roots` are the storage roots the server confines disks to (not
    libvirt's pools): what clients are told to use is what is accepted."""
    _model, memory_mb, cpus, *_ = conn.getInfo()
    version = conn.getVersion()
    return Host(
        numa_nodes=numa_nodes(conn),
        name=conn.getHostname(),
        logical_processors=max(cpus, 1),
        memory_mb=max(memory_mb, 1),
        storage_roots=tuple(roots),
        passthrough_disks=tuple(passthrough_disks),
        pci_devices=host_pci_devices(conn, pci_allowed),
        hypervisor=f"libvirt {conn.getType()}",
        hypervisor_version=f"{version // 1000000}.{version // 1000 % 1000}.{version % 1000}",
    )


def numa_nodes(conn: libvirt.virConnect) -> tuple[NumaNode, ...]:
    """The host's NUMA cells as libvirt's capabilities describe them."""
    cells = etree.fromstring(conn.getCapabilities()).findall("host/topology/cells/cell")
    try:
        free = conn.getCellsFreeMemory(0, len(cells)) if cells else []
    except libvirt.libvirtError:
        free = []
    nodes = []
    for index, cell in enumerate(cells):
        memory = cell.find("memory")
        memory_mb = int(memory.text or 0) // 1024 if memory is not None and memory.get("unit", "KiB") == "KiB" else 0
        nodes.append(
            NumaNode(
                id=int(cell.get("id", index)),
                processors=tuple(int(cpu.get("id", 0)) for cpu in cell.findall("cpus/cpu")),
                memory_mb=memory_mb,
                free_memory_mb=free[index] // (1024 * 1024) if index < len(free) else None,
            )
        )
    return tuple(nodes)


def bridge_switch(bridge: str) -> VirtualSwitch:
    """A host bridge VMs use directly: an external switch bound to it."""
    return VirtualSwitch(id=bridge_switch_id(bridge), name=bridge[:100], external_adapter=bridge[:64])


HARDWARE_VIRTUALIZATION = frozenset({"vmx", "svm"})


def domain_type(conn: libvirt.virConnect, wanted: str, explicit: bool) -> tuple[str, str]:
    """The domain type new VMs get, and why: `wanted` if libvirt offers it
    for x86_64 guests (and, for kvm chosen by default, the host really runs
    KVM on hardware); else, unless it was asked for explicitly, the best
    type libvirt offers (a host without KVM, the test driver)."""
    capabilities = etree.fromstring(conn.getCapabilities())
    # The test driver describes only i686 guests; any arch will then do.
    offered = set(capabilities.xpath("guest/arch[@name='x86_64']/domain/@type") or capabilities.xpath("guest/arch/domain/@type"))
    if wanted in offered and (wanted != "kvm" or explicit):
        return wanted, "as configured" if explicit else f"libvirt at {conn.getURI()} offers it"
    if explicit and wanted not in offered:
        raise BackendError(
            f"libvirt at {conn.getURI()} offers no {wanted!r} domains"
            f" (it offers {', '.join(sorted(offered)) or 'none'}); set libvirt_domain_type accordingly"
        )
    why = ""
    if "kvm" in offered:
        usable, why = kvm_probe(conn, capabilities)
        if usable:
            return "kvm", why
        offered.discard("kvm")
    for preferred in ("qemu", "test"):
        if preferred in offered:
            return preferred, why or f"libvirt at {conn.getURI()} offers no kvm domains"
    return (sorted(offered)[0] if offered else "qemu"), why or f"libvirt at {conn.getURI()} offers {', '.join(sorted(offered)) or 'no types'}"


def kvm_probe(conn: libvirt.virConnect, capabilities: etree._Element) -> tuple[bool, str]:
    """Whether kvm guests will run, asked of the libvirt host (which may be
    remote): its domain capabilities for kvm, and its CPU's vmx/svm. A
    /dev/kvm that opens is not enough: a software KVM (PVM, on a CPU
    without vmx/svm) runs only guests built for it, and a stock guest dies
    there with "KVM internal error"."""
    try:
        conn.getDomainCapabilities(None, "x86_64", None, "kvm", 0)
    except libvirt.libvirtError as error:
        return False, f"libvirt cannot run kvm domains: {error.get_error_message()}"
    features = {str(name) for name in capabilities.xpath("host/cpu/feature/@name")}
    found = sorted(features & HARDWARE_VIRTUALIZATION)
    if not found:
        return False, (
            "the host's CPU has neither vmx nor svm, so its /dev/kvm is not hardware virtualization"
            ' and stock guests would die with "KVM internal error"'
        )
    return True, f"libvirt offers kvm domains and the host's CPU has {found[0]}"


def start_networks(conn: libvirt.virConnect, domain: libvirt.virDomain) -> list[str]:
    """Start the inactive libvirt networks the domain's NICs are on, as a
    Hyper-V switch is there whenever a VM needs it; their names. A network
    that no longer exists is refused by name (libvirt would say only
    "Network not found")."""
    definition = etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    started: list[str] = []
    for interface in definition.iterfind("devices/interface[@type='network']"):
        name = interface.find("source").get("network", "") if interface.find("source") is not None else ""
        try:
            network = conn.networkLookupByName(name)
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_NO_NETWORK:
                raise
            mac = interface.find("mac")
            raise InvalidStateError(
                f"cannot start the VM: its network adapter {mac.get('address') if mac is not None else ''}"
                f" is connected to the libvirt network {name!r}, which no longer exists; connect it to another switch"
            ) from None
        if not network.isActive():
            network.create()
            started.append(name)
    return started


def switch_source(conn: libvirt.virConnect, switch_id: UUID) -> tuple[str, str] | None:
    """Where a NIC on the switch connects: ("network", name) or ("bridge", name)."""
    for network in conn.listAllNetworks():
        if UUID(network.UUIDString()) == switch_id:
            return ("network", network.name())
    for bridge in attached_bridges(conn):
        if bridge_switch_id(bridge) == switch_id:
            return ("bridge", bridge)
    return None


def defined_domains(conn: libvirt.virConnect) -> Iterator[etree._Element]:
    """Each domain's persistent definition. A domain undefined between the
    listing and its read (another client, a migration leaving) is skipped:
    it no longer holds a bridge or a MAC address."""
    for domain in conn.listAllDomains():
        try:
            yield etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise


def attached_bridges(conn: libvirt.virConnect) -> set[str]:
    """Host bridges VMs are attached to directly (not through a network)."""
    bridges: set[str] = set()
    for xml in defined_domains(conn):
        bridges.update(str(name) for name in xml.xpath("devices/interface[@type='bridge']/source/@bridge"))
    return bridges


def mac_allocator(conn: libvirt.virConnect) -> Callable[[], str]:
    """Hands out MAC addresses no domain on the host uses (nor an earlier call)."""
    taken: set[str] = set()
    for xml in defined_domains(conn):
        for mac in xml.xpath("devices/interface/mac/@address"):
            taken.add(model_mac(str(mac)))

    def allocate() -> str:
        mac = random_mac(taken)
        taken.add(mac)
        return mac

    return allocate
