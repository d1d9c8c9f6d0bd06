"""A libvirt domain the hypervisor stopped reads critical from the same bulk
statistics the sampler takes: getAllDomainStats gives state and reason."""

from __future__ import annotations

from uuid import uuid4

import libvirt

from cimprovider.backends.libvirt.statistics import domain_counters
from cimprovider.metrics.conditions import health_of, vm_findings
from cimprovider.metrics.samples import sample


def findings_for(state: int, reason: int):
    counters = domain_counters(uuid4(), {"state.state": state, "state.reason": reason}, None)
    return health_of(vm_findings(sample(0.0, counters, None, None), []))


def test_a_domain_whose_qemu_crashed_is_a_critical_failure() -> None:
    health = findings_for(libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_CRASHED)
    assert (health.health_state, health.operational_status, health.probable_cause) == (25, (6,), 48)
    assert "crashed" in health.descriptions[0]


def test_a_domain_paused_on_an_internal_error_is_critical_and_a_user_pause_is_not() -> None:
    assert findings_for(libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_UNKNOWN).health_state == 25
    assert findings_for(libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_USER).health_state == 5
    assert findings_for(libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN).health_state == 5
