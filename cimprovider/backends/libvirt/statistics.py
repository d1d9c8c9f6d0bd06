"""Every domain's counters from one `getAllDomainStats` call: libvirt
gathers CPU time, balloon, block and interface figures for all domains in
one round trip, so a sampling interval costs one call however many VMs
there are. Disks are matched to the model's drives by image path, network
interfaces to its adapters by position (libvirt numbers both in the order
of the domain XML, from which the model reads its adapters)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import libvirt

from cimprovider.backends.libvirt.condition import condition_of
from cimprovider.schemas.devices import DriveType
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.runtime import HeartbeatState
from cimprovider.schemas.statistics import DiskCounters, NicCounters, VmCounters
from cimprovider.schemas.vm import VirtualMachine

STATS = (
    libvirt.VIR_DOMAIN_STATS_STATE
    | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
    | libvirt.VIR_DOMAIN_STATS_BALLOON
    | libvirt.VIR_DOMAIN_STATS_VCPU
    | libvirt.VIR_DOMAIN_STATS_INTERFACE
    | libvirt.VIR_DOMAIN_STATS_BLOCK
)
_STATES = {
    libvirt.VIR_DOMAIN_RUNNING: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: PowerState.PAUSED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: PowerState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: PowerState.STOPPING,
}


def all_counters(conn: libvirt.virConnect, known: Mapping[UUID, VirtualMachine],
                 heartbeats: Mapping[UUID, HeartbeatState] | None = None) -> list[VmCounters]:
    """`known` are the VMs as last read (for their power state and devices);
    `heartbeats` what the agents' events said (the statistics do not)."""
    heartbeats = heartbeats or {}
    found = []
    for domain, stats in conn.getAllDomainStats(STATS, 0):
        vm_id = UUID(bytes=domain.UUID())
        found.append(domain_counters(vm_id, stats, known.get(vm_id), heartbeats.get(vm_id, HeartbeatState.UNKNOWN)))
    return found


def domain_counters(vm_id: UUID, stats: Mapping[str, Any], vm: VirtualMachine | None,
                    heartbeat: HeartbeatState = HeartbeatState.UNKNOWN) -> VmCounters:
    state = vm.power_state if vm is not None else _STATES.get(stats.get("state.state", 0), PowerState.OFF)
    vcpus = int(stats.get("vcpu.current") or (vm.processor.count if vm is not None else 1))
    memory_kib = stats.get("balloon.current", 0) if state is not PowerState.OFF else 0
    return VmCounters(
        vm_id=vm_id,
        power_state=state,
        cpu_time_ns=int(stats.get("cpu.time", 0)),
        vcpus=max(1, vcpus),
        memory_mb=int(memory_kib) // 1024,
        disks=_disks(stats, vm),
        nics=_nics(stats, vm),
        # The same call says why a domain is paused or off: a crash or an
        # internal error reads here within one interval.
        condition=condition_of(int(stats.get("state.state", 0)), int(stats.get("state.reason", 0))),
        heartbeat=heartbeat,
    )


def _disks(stats: Mapping[str, Any], vm: VirtualMachine | None) -> tuple[DiskCounters, ...]:
    drives = {}
    if vm is not None:
        drives = {d.media.path: d.id for d in vm.drives if d.drive_type is DriveType.DISK and d.media is not None}
    disks = []
    for n in range(int(stats.get("block.count", 0))):
        path = str(stats.get(f"block.{n}.path", ""))
        if path not in drives:
            continue  # a DVD image, or a disk the model does not show
        disks.append(
            DiskCounters(
                drive_id=drives[path],
                path=path,
                read_bytes=int(stats.get(f"block.{n}.rd.bytes", 0)),
                write_bytes=int(stats.get(f"block.{n}.wr.bytes", 0)),
                read_requests=int(stats.get(f"block.{n}.rd.reqs", 0)),
                write_requests=int(stats.get(f"block.{n}.wr.reqs", 0)),
                request_time_ns=int(stats.get(f"block.{n}.rd.times", 0)) + int(stats.get(f"block.{n}.wr.times", 0)),
            )
        )
    return tuple(disks)


def _nics(stats: Mapping[str, Any], vm: VirtualMachine | None) -> tuple[NicCounters, ...]:
    adapters = list(vm.network_adapters) if vm is not None else []
    return tuple(
        NicCounters(
            adapter_id=adapters[n].id if n < len(adapters) else None,
            received_bytes=int(stats.get(f"net.{n}.rx.bytes", 0)),
            sent_bytes=int(stats.get(f"net.{n}.tx.bytes", 0)),
        )
        for n in range(int(stats.get("net.count", 0)))
    )
