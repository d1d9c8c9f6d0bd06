"""Runtime figures for a simulated guest: plausible, moving, and a pure
function of the VM, when it started and the clock, so tests can predict
them and a restart does not make them jump."""

from __future__ import annotations

import math
import re
from uuid import UUID

from cimprovider.backends.simulated.faults import hung
from cimprovider.schemas.integration import (
    IntegrationServiceKind,
    IntegrationServiceState,
    KvpItem,
    KvpSource,
)
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.runtime import HeartbeatState, RuntimeFigures
from cimprovider.schemas.vm import VirtualMachine

GUEST_OS_NAME = "Microsoft Windows Server 2022 Datacenter"
GUEST_OS_VERSION = "10.0.20348"
GUEST_DOMAIN = "simulated.local"

# States in which the simulated guest exists (its services answer).
_GUEST_UP = {PowerState.RUNNING, PowerState.PAUSED, PowerState.STOPPING, PowerState.SAVING, PowerState.PAUSING}


def runtime_figures(vm: VirtualMachine, started_at: float | None, now: float) -> RuntimeFigures:
    if started_at is None or vm.power_state not in _GUEST_UP:
        return RuntimeFigures(vm_id=vm.id, power_state=vm.power_state, heartbeat=_idle_heartbeat(vm))
    seed = vm.id.int
    paused = vm.power_state is PowerState.PAUSED
    enabled = [service.service for service in vm.integration_services if service.enabled]
    services = {
        kind: IntegrationServiceState.PAUSED if paused and kind is IntegrationServiceKind.HEARTBEAT else IntegrationServiceState.OK
        for kind in enabled
    }
    if hung(vm) and not paused:
        services = {kind: IntegrationServiceState.LOST_COMMUNICATION for kind in enabled}
        enabled = [kind for kind in enabled if kind is not IntegrationServiceKind.KVP_EXCHANGE]  # no guest items either
    heartbeat = guest_heartbeat(vm, started_at)
    return RuntimeFigures(
        vm_id=vm.id,
        power_state=vm.power_state,
        uptime_ms=max(0, int((now - started_at) * 1000)),
        processor_load_percent=0 if paused else processor_load(seed, now),
        memory_in_use_mb=memory_in_use(vm, seed, now),
        heartbeat=heartbeat,
        integration_services=services,
        guest_kvp_items=intrinsic_items(vm) if IntegrationServiceKind.KVP_EXCHANGE in enabled else (),
    )


def guest_heartbeat(vm: VirtualMachine, started_at: float | None) -> HeartbeatState:
    if started_at is None or vm.power_state not in _GUEST_UP:
        return _idle_heartbeat(vm)
    if not any(s.enabled and s.service is IntegrationServiceKind.HEARTBEAT for s in vm.integration_services):
        return HeartbeatState.UNKNOWN
    if vm.power_state is PowerState.PAUSED:
        return HeartbeatState.PAUSED
    return HeartbeatState.LOST_COMMUNICATION if hung(vm) else HeartbeatState.OK


def processor_load(seed: int, now: float) -> int:
    # A busy-ish guest between about 5 % and 75 %: the waves never reach the
    # 0 or 100 bounds (where the figure would sit still), and the fastest
    # one moves it within a second or two.
    base = 30 + seed % 20
    wave = 15 * math.sin(now / 7 + seed % 100) + 8 * math.sin(now / 1.3 + seed % 17) + 3 * math.sin(now * 3 + seed % 11)
    return int(base + wave)


def memory_in_use(vm: VirtualMachine, seed: int, now: float) -> int:
    memory = vm.memory
    if not memory.dynamic_enabled:
        return memory.startup_mb
    share = 0.55 + 0.3 * (0.5 + 0.5 * math.sin(now / 11 + seed % 13))
    return max(memory.minimum_mb, min(memory.maximum_mb, int(memory.startup_mb * share) // 2 * 2))


def intrinsic_items(vm: VirtualMachine) -> tuple[KvpItem, ...]:
    host = re.sub(r"[^A-Za-z0-9-]", "-", vm.name)[:63].strip("-") or "guest"
    addresses = ";".join(_address(nic.id) for nic in vm.network_adapters if nic.connected and nic.switch_id)
    values = {
        "FullyQualifiedDomainName": f"{host}.{GUEST_DOMAIN}",
        "OSName": GUEST_OS_NAME,
        "OSVersion": GUEST_OS_VERSION,
        "NetworkAddressIPv4": addresses,
    }
    return tuple(KvpItem(name=name, data=data, source=KvpSource.INTRINSIC) for name, data in values.items())


def _address(nic_id: UUID) -> str:
    raw = nic_id.bytes
    return f"10.{raw[0]}.{raw[1]}.{max(2, raw[2] % 254)}"


def _idle_heartbeat(vm: VirtualMachine) -> HeartbeatState:
    # A booting guest has not answered yet; an off one has no heartbeat at all.
    return HeartbeatState.NO_CONTACT if vm.power_state in (PowerState.STARTING, PowerState.RESUMING) else HeartbeatState.UNKNOWN
