"""The Prometheus / OpenMetrics exposition of /metrics, written by
prometheus_client: per-VM series (labelled vm_id and vm_name, every VM
including those that are off), the host's figures, and the server's own
(operations with latency histograms, connections, enumeration contexts,
indication subscriptions and deliveries, jobs by state)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from cimprovider.backends import Backend, HealthReporting
from cimprovider.metrics.sampler import Sampler
from cimprovider.metrics.samples import CLOCK_MHZ, VmSample
from cimprovider.schemas.power import PowerState
from cimprovider.schemas.statistics import VmCounters
from cimprovider.schemas.vm import VirtualMachine

MIB = 1024 * 1024
VM_LABELS = ["vm_id", "vm_name"]
# Latency buckets for CIM operations, from a cached GetInstance to a large enumeration.
OPERATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass(frozen=True)
class ServerFigures:
    """How the exposition reads the server's own state; server.py wires
    each to the part that keeps it."""

    open_connections: Callable[[], int]
    enumeration_contexts: Callable[[], int]
    subscriptions: Callable[[], int]
    pending_deliveries: Callable[[], int]
    jobs_by_state: Callable[[], dict[str, int]]


class VmCollector(Collector):
    def __init__(self, backend: Backend, sampler: Sampler) -> None:
        self.backend = backend
        self.sampler = sampler

    def collect(self) -> Iterator[Metric]:
        vms = self.backend.list_vms()
        latest = self.sampler.latest()
        yield from vm_families(vms, latest)
        yield from host_families(self.backend, vms, latest, self.sampler)


def vm_families(vms: list[VirtualMachine], latest: dict[UUID, VmSample]) -> Iterator[Metric]:
    state = GaugeMetricFamily("cimprovider_vm_state", "1 for the VM's current state", labels=[*VM_LABELS, "state"])
    cpu = GaugeMetricFamily("cimprovider_vm_cpu_usage_percent", "Share of the VM's processors used in the last interval", labels=VM_LABELS)
    cpu_time = CounterMetricFamily("cimprovider_vm_cpu_seconds", "CPU time the guest used since it started", labels=VM_LABELS)
    vcpus = GaugeMetricFamily("cimprovider_vm_virtual_processors", "Virtual processors", labels=VM_LABELS)
    memory = GaugeMetricFamily("cimprovider_vm_memory_assigned_bytes", "Memory the guest holds now (0 when off)", labels=VM_LABELS)
    startup = GaugeMetricFamily("cimprovider_vm_memory_startup_bytes", "Memory the VM starts with", labels=VM_LABELS)
    disk_labels = [*VM_LABELS, "drive_id"]
    read = CounterMetricFamily("cimprovider_vm_disk_read_bytes", "Bytes read from the disk since the guest started", labels=disk_labels)
    written = CounterMetricFamily("cimprovider_vm_disk_written_bytes", "Bytes written to the disk since the guest started", labels=disk_labels)
    requests = CounterMetricFamily("cimprovider_vm_disk_requests", "Read and write requests since the guest started", labels=disk_labels)
    latency = GaugeMetricFamily("cimprovider_vm_disk_latency_seconds", "Mean request latency in the last interval", labels=disk_labels)
    nic_labels = [*VM_LABELS, "adapter_id"]
    received = CounterMetricFamily("cimprovider_vm_network_received_bytes", "Bytes received since the guest started", labels=nic_labels)
    sent = CounterMetricFamily("cimprovider_vm_network_sent_bytes", "Bytes sent since the guest started", labels=nic_labels)
    for vm in vms:
        labels = [str(vm.id), vm.name]
        s = latest.get(vm.id)
        counters = s.reading if s is not None else VmCounters(vm_id=vm.id, power_state=vm.power_state, vcpus=vm.processor.count)
        for power_state in PowerState:
            state.add_metric([*labels, power_state.value], 1.0 if vm.power_state is power_state else 0.0)
        cpu.add_metric(labels, s.cpu_percent if s is not None else 0.0)
        cpu_time.add_metric(labels, counters.cpu_time_ns / 1e9)
        vcpus.add_metric(labels, vm.processor.count)
        memory.add_metric(labels, counters.memory_mb * MIB)
        startup.add_metric(labels, vm.memory.startup_mb * MIB)
        for disk in counters.disks:
            device = [*labels, str(disk.drive_id)]
            read.add_metric(device, disk.read_bytes)
            written.add_metric(device, disk.write_bytes)
            requests.add_metric(device, disk.read_requests + disk.write_requests)
            rates = s.disks.get(disk.drive_id) if s is not None and disk.drive_id is not None else None
            latency.add_metric(device, rates.latency_ms / 1000 if rates is not None else 0.0)
        for nic in counters.nics:
            device = [*labels, str(nic.adapter_id)]
            received.add_metric(device, nic.received_bytes)
            sent.add_metric(device, nic.sent_bytes)
    yield from (state, cpu, cpu_time, vcpus, memory, startup, read, written, requests, latency, received, sent)


def host_families(backend: Backend, vms: list[VirtualMachine], latest: dict[UUID, VmSample], sampler: Sampler) -> Iterator[Metric]:
    host = backend.host_info()
    yield GaugeMetricFamily("cimprovider_host_logical_processors", "Logical processors of the host", value=host.logical_processors)
    yield GaugeMetricFamily("cimprovider_host_memory_bytes", "Memory of the host", value=host.memory_mb * MIB)
    used_mhz = sum(s.cpu_mhz for s in latest.values())
    yield GaugeMetricFamily(
        "cimprovider_host_cpu_usage_percent", "Share of the host's processors the VMs used in the last interval",
        value=min(100.0, used_mhz / (host.logical_processors * CLOCK_MHZ) * 100),
    )
    yield GaugeMetricFamily("cimprovider_host_memory_assigned_bytes", "Memory the running VMs hold",
                            value=sum(s.memory_mb for s in latest.values()) * MIB)
    count = GaugeMetricFamily("cimprovider_host_vms", "Virtual machines by state", labels=["state"])
    for power_state in PowerState:
        count.add_metric([power_state.value], sum(1 for vm in vms if vm.power_state is power_state))
    yield count
    healthy = backend.health().healthy if isinstance(backend, HealthReporting) else True
    yield GaugeMetricFamily("cimprovider_backend_up", "1 while the hypervisor answers", value=1.0 if healthy else 0.0)
    yield CounterMetricFamily("cimprovider_sampler_readings", "Sampling intervals read", value=sampler.readings)
    yield CounterMetricFamily("cimprovider_sampler_failures", "Sampling intervals that failed", value=sampler.failures)
    yield GaugeMetricFamily("cimprovider_sampler_last_reading_cpu_seconds", "CPU time the last reading cost",
                            value=sampler.last_reading_seconds)


class StorageCollector(Collector):
    """Each storage root's size and free space, as an operator watches a
    filling disk (and as the web console shows another host's storage)."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = roots

    def collect(self) -> Iterator[Metric]:
        size = GaugeMetricFamily("cimprovider_storage_root_size_bytes", "Size of the file system holding the storage root",
                                 labels=["root"])
        free = GaugeMetricFamily("cimprovider_storage_root_free_bytes", "Free space on the file system holding the storage root",
                                 labels=["root"])
        for root in self.roots:
            try:
                usage = shutil.disk_usage(root)
            except OSError:
                continue  # a root not created yet holds nothing
            size.add_metric([str(root)], usage.total)
            free.add_metric([str(root)], usage.free)
        yield from (size, free)


class ServerCollector(Collector):
    def __init__(self, figures: ServerFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        f = self.figures
        yield GaugeMetricFamily("cimprovider_http_connections_open", "Open HTTP(S) connections", value=f.open_connections())
        yield GaugeMetricFamily("cimprovider_enumeration_contexts_open", "Open pull enumeration contexts", value=f.enumeration_contexts())
        yield GaugeMetricFamily("cimprovider_indication_subscriptions", "Indication subscriptions", value=f.subscriptions())
        yield GaugeMetricFamily("cimprovider_indication_deliveries_pending", "Indications waiting for delivery", value=f.pending_deliveries())
        jobs = GaugeMetricFamily("cimprovider_jobs", "Jobs kept, by state", labels=["state"])
        for state, n in sorted(f.jobs_by_state().items()):
            jobs.add_metric([state], n)
        yield jobs


class Exposition:
    """One registry per server (not prometheus_client's global one), so that
    several servers in one process do not mix their figures."""

    def __init__(self, backend: Backend, sampler: Sampler, figures: ServerFigures,
                 storage_roots: list[Path] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.operations = Histogram(
            "cimprovider_operation_duration_seconds",
            "CIM operations by name and CIM status, and how long they took",
            ["operation", "status"],
            buckets=OPERATION_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(VmCollector(backend, sampler))
        self.registry.register(ServerCollector(figures))
        self.registry.register(StorageCollector(list(storage_roots or [])))

    def observe(self, operation: str, status: str, seconds: float) -> None:
        self.operations.labels(operation, status).observe(seconds)

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The body and its content type: OpenMetrics when `accept` asks for it."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
