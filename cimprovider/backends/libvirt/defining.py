"""Writing a VM onto libvirt (a mixin of LibvirtBackend, using its
connection and disk images): a change goes to the running guest first,
where Hyper-V would make it live, then to the persistent definition; and
what a device refers to (a switch, a PCI device) is checked before either."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from uuid import UUID

import libvirt
from lxml import etree

from cimprovider.backends.errors import InvalidParameterError
from cimprovider.backends.hotplug import AnyDevice
from cimprovider.backends.libvirt.disk_images import DiskImages, declared_formats
from cimprovider.backends.libvirt.domain_write import write_domain
from cimprovider.backends.libvirt.host import attached_bridges, mac_allocator, switch_source
from cimprovider.backends.libvirt.identity import domain_name_for
from cimprovider.backends.libvirt.live import apply_live
from cimprovider.backends.libvirt.networks import network_of
from cimprovider.backends.libvirt.port_features import check_features
from cimprovider.backends.libvirt.publishing import ACTIVE_STATES, INACTIVE
from cimprovider.backends.pci import check_pci_device
from cimprovider.schemas.devices import NetworkAdapter, PciDevice
from cimprovider.schemas.vm import VirtualMachine


class LibvirtDefining:
    # Provided by LibvirtBackend.
    _images: DiskImages
    _call: Any
    _conn: Any
    _domain: Any
    _published: Any
    host_info: Any
    list_vms: Any

    def _apply(self, vm: VirtualMachine, changed: VirtualMachine, what: str) -> VirtualMachine:
        """Make libvirt hold `changed`: live first where the guest runs (a
        refusal there leaves the definition untouched), then the definition."""
        domain = self._domain(vm.id)
        keep = self._call(lambda: self._running_on(domain), what)
        declared = self._call(lambda: declared_formats(etree.fromstring(domain.XMLDesc(INACTIVE))), what)
        running, changed = self._images.runnable(vm, keep, declared), self._images.runnable(changed, keep, declared)

        def apply() -> None:
            base = etree.fromstring(domain.XMLDesc(INACTIVE))
            formats = functools.partial(self._images.driver_format, declared=declared)

            if vm.power_state in ACTIVE_STATES:
                apply_live(domain, running, changed, self._switch_source, formats)
            name = base.findtext("name") or domain.name()
            if changed.name != vm.name and not domain.isActive():
                wanted = self._free_domain_name(changed.name, vm.id)
                if wanted != name:
                    domain.rename(wanted, 0)
                    name = wanted
            self._conn().defineXML(definition_xml(write_domain(changed, base, name, self._switch_source, formats)))

        self._call(apply, what)
        return self._published(vm.id)

    def _running_on(self, domain: libvirt.virDomain) -> frozenset[str]:
        """The disk files a running guest has open (none while it is off)."""
        if not domain.isActive():
            return frozenset()
        return frozenset(str(path) for path in etree.fromstring(domain.XMLDesc(0)).xpath("devices/disk/source/@file"))

    def _define(self, domain: libvirt.virDomain, vm: VirtualMachine) -> None:
        """Write `vm` onto the domain's persistent definition only."""
        base = etree.fromstring(domain.XMLDesc(INACTIVE))
        declared = declared_formats(base)
        vm = self._images.runnable(vm, self._running_on(domain), declared)
        name = base.findtext("name") or domain.name()
        formats = functools.partial(self._images.driver_format, declared=declared)
        self._conn().defineXML(definition_xml(write_domain(vm, base, name, self._switch_source, formats)))

    def _free_domain_name(self, element_name: str, vm_id: UUID) -> str:
        """The VM's name if no other domain has it (libvirt names are
        unique, Hyper-V's are not), else the name with the id's first part."""
        wanted = domain_name_for(element_name)
        try:
            holder = self._conn().lookupByName(wanted)
        except libvirt.libvirtError:
            return wanted
        return wanted if UUID(holder.UUIDString()) == vm_id else f"{wanted}-{str(vm_id)[:8]}"

    def _mac_allocator(self) -> Callable[[], str]:
        return self._call(lambda: mac_allocator(self._conn()), "list MAC addresses")

    def _check_references(self, device: AnyDevice) -> None:
        if isinstance(device, PciDevice):
            check_pci_device(device, self.host_info(), self.list_vms())
        if not isinstance(device, NetworkAdapter):
            return
        if device.switch_id is not None and self._switch_source(device.switch_id) is None:
            raise InvalidParameterError("switch_id", f"no virtual switch {device.switch_id}")
        check_features(device, self._call(lambda: network_of(self._conn(), device.switch_id), "read the network"))

    def _switch_source(self, switch_id: UUID) -> tuple[str, str] | None:
        return self._call(lambda: switch_source(self._conn(), switch_id), "find the virtual switch")

    def _bridges(self) -> set[str]:
        return self._call(lambda: attached_bridges(self._conn()), "list bridges")


def definition_xml(element: etree._Element) -> str:
    """A domain's XML as libvirt's defineXML takes it."""
    return etree.tostring(element, encoding="unicode")
