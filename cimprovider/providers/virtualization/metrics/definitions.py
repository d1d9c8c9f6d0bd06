"""The metrics Hyper-V meters, by their own ElementNames: what each
measures, on which elements, and how its value is read from a VM's
metering window. Ids are stable GUIDs derived from the name, so a client
that cached a definition's Id across restarts still finds its values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID, uuid5

AGGREGATION_DEFINITION = "Msvm_AggregationMetricDefinition"
BASE_DEFINITION = "Msvm_BaseMetricDefinition"
AGGREGATION_VALUE = "Msvm_AggregationMetricValue"
BASE_VALUE = "Msvm_BaseMetricValue"
DEFINITION_CLASSES = (AGGREGATION_DEFINITION, BASE_DEFINITION)
VALUE_CLASSES = (AGGREGATION_VALUE, BASE_VALUE)
# Where a metric applies: the VM itself, each hard disk image (SASD), each
# switch connection of a network adapter (EPASD).
VM, DISK, PORT = "vm", "disk", "port"
# A port's metering ACLs, by direction: each counts one direction's traffic.
ACL_IN, ACL_OUT = "acl_in", "acl_out"
MB = 1024 * 1024
_ID_NAMESPACE = UUID("6b0e64b3-3c3a-4d0e-9c57-3b1c8a0f4e21")


class DeviceFigures(Protocol):
    read_bytes: int
    write_bytes: int
    normalized_ios: int
    received_bytes: int
    sent_bytes: int

    @property
    def latency_ms(self) -> float: ...


class Window(Protocol):
    """A VM's metering window, as the metrics part keeps it."""

    started_at: float
    updated_at: float
    seconds: float
    memory_min_mb: int
    memory_max_mb: int
    devices: dict[UUID, DeviceFigures]
    definitions: list[str] | None  # GUIDs of the metrics metered; None: all

    @property
    def average_cpu_mhz(self) -> int: ...

    @property
    def average_memory_mb(self) -> int: ...


Reader = Callable[[Window, list[DeviceFigures]], int]


@dataclass(frozen=True)
class MetricDefinition:
    name: str
    classname: str
    units: str
    applies_to: frozenset[str]
    read: Reader  # the window and the devices the value covers (every one for the VM)
    description: str

    @property
    def guid(self) -> str:
        return str(uuid5(_ID_NAMESPACE, self.name)).upper()

    @property
    def id(self) -> str:
        return f"Microsoft:{self.guid}"

    @property
    def value_class(self) -> str:
        return AGGREGATION_VALUE if self.classname == AGGREGATION_DEFINITION else BASE_VALUE


def _megabytes(attribute: str) -> Reader:
    return lambda w, devices: sum(getattr(d, attribute) for d in devices) // MB


def _latency(w: Window, devices: list[DeviceFigures]) -> int:
    measured = [d.latency_ms for d in devices if d.latency_ms]
    return round(sum(measured) / len(measured)) if measured else 0


def _normalized_iops(w: Window, devices: list[DeviceFigures]) -> int:
    return round(sum(d.normalized_ios for d in devices) / w.seconds) if w.seconds else 0


_VM_ONLY = frozenset({VM})
_DISKS = frozenset({VM, DISK})
_IN = frozenset({VM, PORT, ACL_IN})
_OUT = frozenset({VM, PORT, ACL_OUT})
DEFINITIONS: tuple[MetricDefinition, ...] = (
    MetricDefinition("Aggregated Average CPU Utilization", AGGREGATION_DEFINITION, "MHz", _VM_ONLY,
                     lambda w, d: w.average_cpu_mhz, "Average processor use of the VM over the metering window."),
    MetricDefinition("Aggregated Average Memory Utilization", AGGREGATION_DEFINITION, "MB", _VM_ONLY,
                     lambda w, d: w.average_memory_mb, "Average memory the VM held while it ran."),
    MetricDefinition("Aggregated Minimum Memory Utilization", AGGREGATION_DEFINITION, "MB", _VM_ONLY,
                     lambda w, d: w.memory_min_mb, "Least memory the VM held while it ran."),
    MetricDefinition("Aggregated Maximum Memory Utilization", AGGREGATION_DEFINITION, "MB", _VM_ONLY,
                     lambda w, d: w.memory_max_mb, "Most memory the VM held."),
    MetricDefinition("Disk Data Read", AGGREGATION_DEFINITION, "MB", _DISKS,
                     _megabytes("read_bytes"), "Data read from the virtual disks."),
    MetricDefinition("Disk Data Written", AGGREGATION_DEFINITION, "MB", _DISKS,
                     _megabytes("write_bytes"), "Data written to the virtual disks."),
    MetricDefinition("Average Disk Latency", AGGREGATION_DEFINITION, "Milliseconds", _DISKS,
                     _latency, "Mean time a disk request took."),
    MetricDefinition("Average Normalized Disk Throughput", AGGREGATION_DEFINITION, "I/O Operations Per Second", _DISKS,
                     _normalized_iops, "Disk operations per second, in 8 KiB units."),
    MetricDefinition("Filtered Incoming Network Traffic", BASE_DEFINITION, "MB", _IN,
                     _megabytes("received_bytes"), "Data the network adapters received."),
    MetricDefinition("Filtered Outgoing Network Traffic", BASE_DEFINITION, "MB", _OUT,
                     _megabytes("sent_bytes"), "Data the network adapters sent."),
)


def definition_by_id(definition_id: str) -> MetricDefinition | None:
    wanted = definition_id.lower()
    return next((d for d in DEFINITIONS if d.id.lower() == wanted), None)


def definition_values(d: MetricDefinition) -> dict[str, object]:
    return {
        "Id": d.id,
        "Name": d.name,
        "ElementName": d.name,
        "Caption": d.name,
        "Description": d.description,
        "DataType": 13,  # uint64
        "Calculable": 2 if d.units == "MB" else 3,
        "Units": d.units,
        "IsContinuous": d.units != "MB",
        "ChangeType": 3 if d.units == "MB" else 4,
        "TimeScope": 3,
        "GatheringType": 3,
    }
