"""libvirt's state reasons as the VM's health.

libvirt says why a domain is paused or off. A guest the hypervisor stopped
by itself reads paused or off like one a user stopped; its reason tells
them apart: QEMU pauses a guest on a disk I/O error (storage full or
failing), on a guest panic, and — with no reason it can name ("unknown") —
on an emulation or KVM internal error; a QEMU process that dies leaves the
domain off with reason "crashed". Hyper-V shows such a VM as critical
(HealthState 25, Error) and one whose worker it cannot talk to as lost
communication.
"""

from __future__ import annotations

import libvirt

from cimprovider.schemas.power import Health, VmCondition

OK = VmCondition()

_PAUSED = {
    libvirt.VIR_DOMAIN_PAUSED_IOERROR: (Health.CRITICAL, "paused by the hypervisor after a disk I/O error (the storage may be full or failing)"),
    libvirt.VIR_DOMAIN_PAUSED_CRASHED: (Health.CRITICAL, "paused by the hypervisor: the guest crashed"),
    libvirt.VIR_DOMAIN_PAUSED_WATCHDOG: (Health.CRITICAL, "paused by the hypervisor: the guest's watchdog fired"),
    libvirt.VIR_DOMAIN_PAUSED_POSTCOPY_FAILED: (Health.CRITICAL, "paused: a post-copy migration failed; the guest's memory is split"),
    libvirt.VIR_DOMAIN_PAUSED_UNKNOWN: (
        Health.CRITICAL,
        "paused by the hypervisor, not by a request (an emulation or KVM internal error stops a guest so)",
    ),
}
_SHUTOFF = {
    libvirt.VIR_DOMAIN_SHUTOFF_CRASHED: (Health.CRITICAL, "off: the guest's QEMU process ended unexpectedly (crashed)"),
    libvirt.VIR_DOMAIN_SHUTOFF_FAILED: (Health.CRITICAL, "off: the guest failed to start"),
}


def condition_of(state: int, reason: int) -> VmCondition:
    found: tuple[Health, str] | None = None
    if state == libvirt.VIR_DOMAIN_PAUSED:
        found = _PAUSED.get(reason)
    elif state == libvirt.VIR_DOMAIN_SHUTOFF:
        found = _SHUTOFF.get(reason)
    elif state == libvirt.VIR_DOMAIN_CRASHED:
        found = (Health.CRITICAL, "crashed: the guest panicked or its QEMU failed")
    elif state == libvirt.VIR_DOMAIN_NOSTATE:
        found = (Health.LOST_COMMUNICATION, "libvirt does not know the guest's state")
    return OK if found is None else VmCondition(health=found[0], detail=found[1])
