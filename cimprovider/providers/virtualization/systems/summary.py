"""Msvm_SummaryInformation for GetSummaryInformation: only the properties
whose RequestedInformation codes were asked for (msvm-v2.md §2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pywbem import CIMInstance

from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.jobs import JOB, job_values
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.systems.states import ENABLED_STATE, GUEST_PRESENT, SUMMARY_HEARTBEAT
from cimprovider.providers.virtualization.systems.systems import vm_health_values
from cimprovider.schemas.integration import KvpSource
from cimprovider.schemas.runtime import RuntimeFigures
from cimprovider.schemas.vm import VirtualMachine

SUMMARY = "Msvm_SummaryInformation"
Reader = Callable[[Virtualization, VirtualMachine, RuntimeFigures], Any]


def _guest_os(virt: Virtualization, vm: VirtualMachine, runtime: RuntimeFigures) -> str | None:
    return next((i.data for i in runtime.guest_kvp_items if i.source is KvpSource.INTRINSIC and i.name == "OSName"), None)


def _tasks(virt: Virtualization, vm: VirtualMachine, runtime: RuntimeFigures) -> list[CIMInstance]:
    running = [j for j in virt.jobs.list() if vm.id in j.affected_element_ids and not j.state.is_finished]
    return [virt.renderer.embedded(JOB, job_values(virt, j), only_given=True) for j in running]


def _snapshots(virt: Virtualization, vm: VirtualMachine, runtime: RuntimeFigures) -> list[CIMInstance]:
    """The VM's snapshots as embedded snapshot settings, oldest first."""
    from cimprovider.providers.virtualization.snapshots.snapshot_settings import snapshot_values, snapshots_of

    backend = snapshots_of(virt)
    if backend is None:
        return []
    return [
        virt.renderer.embedded("Msvm_VirtualSystemSettingData", snapshot_values(virt, s), only_given=True)
        for s in backend.list_snapshots(vm.id)
    ]


def _memory_available(virt: Virtualization, vm: VirtualMachine, runtime: RuntimeFigures) -> int:
    if not runtime.memory_in_use_mb:
        return 0
    return max(0, min(100, 100 - runtime.memory_in_use_mb * 100 // max(1, vm.memory.startup_mb)))


def _load_history(virt: Virtualization, vm: VirtualMachine, runtime: RuntimeFigures) -> list[int]:
    if vm.power_state not in GUEST_PRESENT:
        return []
    history = virt.load_history(vm.id) if virt.load_history is not None else []
    return history or [runtime.processor_load_percent]


def _load(virt: Virtualization, vm: VirtualMachine, runtime: RuntimeFigures) -> int:
    """The sampler's last interval: a load measured over a whole interval,
    where the backend's own reading has nothing to compare with at first."""
    history = _load_history(virt, vm, runtime)
    return history[-1] if history else runtime.processor_load_percent


# RequestedInformation code -> (property, reader)
FIELDS: dict[int, tuple[str, Reader]] = {
    0: ("Name", lambda v, vm, r: ids.guid(vm.id)),
    1: ("ElementName", lambda v, vm, r: vm.name),
    2: ("CreationTime", lambda v, vm, r: None),
    3: ("Notes", lambda v, vm, r: list(vm.notes) or [""]),
    4: ("NumberOfProcessors", lambda v, vm, r: r.processors_online or vm.processor.count),
    5: ("ThumbnailImage", lambda v, vm, r: None),
    6: ("ThumbnailImageWidth", lambda v, vm, r: None),
    7: ("ThumbnailImageHeight", lambda v, vm, r: None),
    100: ("EnabledState", lambda v, vm, r: ENABLED_STATE[vm.power_state]),
    101: ("ProcessorLoad", _load),
    102: ("ProcessorLoadHistory", _load_history),
    103: ("MemoryUsage", lambda v, vm, r: r.memory_in_use_mb),
    104: ("Heartbeat", lambda v, vm, r: SUMMARY_HEARTBEAT[r.heartbeat] if vm.power_state in GUEST_PRESENT else None),
    105: ("UpTime", lambda v, vm, r: r.uptime_ms),
    106: ("GuestOperatingSystem", _guest_os),
    107: ("Snapshots", _snapshots),
    108: ("AsynchronousTasks", _tasks),
    109: ("HealthState", lambda v, vm, r: vm_health_values(v, vm)["HealthState"]),
    110: ("OperationalStatus", lambda v, vm, r: vm_health_values(v, vm)["OperationalStatus"]),
    111: ("StatusDescriptions", lambda v, vm, r: vm_health_values(v, vm)["StatusDescriptions"]),
    112: ("MemoryAvailable", _memory_available),
    113: ("AvailableMemoryBuffer", lambda v, vm, r: vm.memory.buffer_percent if vm.memory.dynamic_enabled else 0),
    114: ("ReplicationState", lambda v, vm, r: 0),
    123: ("VirtualSystemSubType", lambda v, vm, r: f"Microsoft:Hyper-V:SubType:{vm.generation}"),
    132: ("Version", lambda v, vm, r: vm.config_version),
}
# Codes the MOF lists that this host has nothing for (no GPUs).
UNANSWERED = frozenset({8})


def summary_information(virt: Virtualization, vm: VirtualMachine, requested: list[int]) -> CIMInstance:
    runtime = virt.backend.get_runtime(vm.id)
    values: dict[str, Any] = {"InstanceID": ids.vssd_id(vm.id)}
    for code in requested:
        field = FIELDS.get(int(code))
        if field is not None:
            values[field[0]] = field[1](virt, vm, runtime)
    return virt.renderer.embedded(SUMMARY, values, only_given=True)
