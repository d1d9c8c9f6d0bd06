"""The contract every hypervisor backend fulfils, in `schemas` terms only.

Power changes are two-phase so the CIM side can answer as Hyper-V does:
`begin_power_change` checks the request against the transition table at
once (InvalidStateError → return code 32775, no job) and reserves the VM —
any other request now sees a transition in progress — and publishes the
transitional state. The returned `PowerTransition.run(progress)` then does
the work, blocking until the end state is reached, calling `progress` with
a percentage as it goes; the CIM side runs it inside a Msvm_ConcreteJob.
A libvirt backend does its blocking call (create, destroy, managedSave…)
in `run`. `run` must be called exactly once per `begin_power_change`,
unless the change is given up with `abandon` (its job could not start).

Every state change, device change and KVP change is published on `events`
(see `cimprovider.schemas.events`) in the order it happened for that VM.
Models handed out are immutable snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Protocol, runtime_checkable
from uuid import UUID

from cimprovider.events import EventBus
from cimprovider.schemas.devices import Device
from cimprovider.schemas.events import BackendHealth
from cimprovider.schemas.host import Host, VirtualSwitch
from cimprovider.schemas.integration import KvpItem
from cimprovider.schemas.network import HostAdapter
from cimprovider.schemas.migration import MigratingDisk, MigratingVm
from cimprovider.schemas.power import PowerRequest, PowerState
from cimprovider.schemas.runtime import RuntimeFigures
from cimprovider.schemas.statistics import VmCounters
from cimprovider.schemas.snapshots import Snapshot, SnapshotKind, SnapshotPosition
from cimprovider.schemas.vm import SystemSettings, VirtualMachine

ProgressCallback = Callable[[int], None]
"""Called with 0–100 as long work advances."""


@runtime_checkable
class PowerTransition(Protocol):
    vm_id: UUID
    request: PowerRequest
    initial_state: PowerState
    transitional_state: PowerState | None
    end_state: PowerState

    def run(self, progress: ProgressCallback | None = None) -> VirtualMachine:
        """Carry out the change; returns the VM in its end state. Blocks."""
        ...

    def abandon(self) -> None:
        """Give up before `run`: the VM is back in its initial state and
        free for other requests (its job could not be started)."""
        ...


@runtime_checkable
class Backend(Protocol):
    name: str
    events: EventBus

    # host
    def host_info(self) -> Host: ...
    def list_switches(self) -> list[VirtualSwitch]: ...
    def get_switch(self, switch_id: UUID) -> VirtualSwitch: ...

    # virtual machines
    def list_vms(self) -> list[VirtualMachine]: ...
    def get_vm(self, vm_id: UUID) -> VirtualMachine: ...
    def define_vm(
        self, settings: SystemSettings, devices: Sequence[Device] = (), vm_id: UUID | None = None
    ) -> VirtualMachine:
        """Create a VM, powered off, with the backend's default resources
        (processor, memory, IDE controllers on generation 1, COM1/COM2);
        `devices` replace the defaults of their kind (processor, memory,
        serial ports by number) or are added (controllers, drives, NICs)."""
        ...

    def destroy_vm(self, vm_id: UUID) -> None:
        """Only when Off or Saved (Saved state is discarded)."""
        ...

    def modify_vm(self, vm_id: UUID, settings: SystemSettings) -> VirtualMachine: ...

    # devices
    def add_device(self, vm_id: UUID, device: Device) -> Device:
        """Returns the device as stored: a controller number, drive slot or
        MAC address left as None is filled in."""
        ...

    def modify_device(self, vm_id: UUID, device: Device) -> Device:
        """Replace the device with the same id (its kind must match)."""
        ...

    def remove_device(self, vm_id: UUID, device_id: UUID) -> None: ...

    # power and runtime
    def begin_power_change(self, vm_id: UUID, request: PowerRequest) -> PowerTransition: ...
    def get_runtime(self, vm_id: UUID) -> RuntimeFigures: ...

    # key-value pairs; host-written items live on the VM (`vm.kvp_items`),
    # guest and intrinsic ones in the runtime figures.
    def add_kvp_items(self, vm_id: UUID, items: Sequence[KvpItem]) -> None:
        """Fails with InvalidParameterError if a name already exists."""
        ...

    def modify_kvp_items(self, vm_id: UUID, items: Sequence[KvpItem]) -> None:
        """Fails with NotFoundError if a name does not exist."""
        ...

    def remove_kvp_items(self, vm_id: UUID, names: Sequence[str]) -> None:
        """Fails with NotFoundError if a name does not exist."""
        ...

    def close(self) -> None:
        """Release connections; waits briefly for transitions in flight."""
        ...


@runtime_checkable
class SnapshotBackend(Protocol):
    """Snapshots, for backends that keep them (check with isinstance; a
    backend without them still satisfies `Backend`).

    Taking a snapshot freezes each VHD disk of the VM and moves the VM onto
    a new differencing child of it; applying one gives the VM fresh
    children of the snapshot's frozen disks, so what was written since is
    gone. Disks in other formats are kept by reference only. Errors:
    NotFoundError (no such VM or snapshot), InvalidStateError (apply while
    the VM is not off or saved; any change during a power transition)."""

    def list_snapshots(self, vm_id: UUID | None = None) -> list[Snapshot]:
        """A VM's snapshots (every VM's when None), oldest first."""
        ...

    def get_snapshot(self, snapshot_id: UUID) -> Snapshot: ...

    def snapshot_position(self, vm_id: UUID) -> SnapshotPosition: ...

    def create_snapshot(
        self,
        vm_id: UUID,
        name: str | None = None,
        kind: SnapshotKind = SnapshotKind.STANDARD,
        snapshot_id: UUID | None = None,
        progress: ProgressCallback | None = None,
    ) -> Snapshot:
        """Blocks until the disks are frozen; the VM may be in any stable state."""
        ...

    def apply_snapshot(self, snapshot_id: UUID, progress: ProgressCallback | None = None) -> VirtualMachine:
        """Only when the VM is off or saved; the VM ends saved if the
        snapshot holds memory, else off."""
        ...

    def destroy_snapshot(self, snapshot_id: UUID, tree: bool = False) -> None:
        """Forget the snapshot (with `tree`, and everything below it); its
        children move up to its parent. Disk files nothing reads any more
        are deleted."""
        ...

    def rename_snapshot(self, snapshot_id: UUID, name: str) -> Snapshot: ...


@runtime_checkable
class UnfinishedSnapshots(Protocol):
    """For snapshot backends that make files before a snapshot is
    recorded: what a killed process left of one can be removed."""

    def discard_unfinished_snapshot(self, vm_id: UUID, snapshot_id: UUID) -> list[str]: ...


@runtime_checkable
class NetworkBackend(Protocol):
    """Virtual switches a client can define, for backends that manage
    networks (check with isinstance; without it the switches the backend
    lists are fixed).

    A switch is bound to at most one host adapter (`external_adapter`,
    one of `list_host_adapters`), and an adapter to at most one switch:
    InvalidParameterError for an adapter the host does not have, InUseError
    for one already bound. Names may repeat; the id is the identity.
    Destroying a switch disconnects the VM adapters connected to it (their
    `switch_id` becomes None, published as DeviceModified), whatever the
    VMs' state. Changes are published as SwitchDefined, SwitchModified and
    SwitchDestroyed."""

    def list_host_adapters(self) -> list[HostAdapter]: ...

    def define_switch(self, switch: VirtualSwitch) -> VirtualSwitch: ...

    def modify_switch(self, switch: VirtualSwitch) -> VirtualSwitch:
        """Replace the switch with the same id (name, notes, ports, features)."""
        ...

    def destroy_switch(self, switch_id: UUID) -> None: ...


@runtime_checkable
class CatchingUp(Protocol):
    """A backend whose hypervisor changes while the server is down (libvirt
    runs on): it keeps what it last published, and once the server is
    listening publishes what changed since, as differences."""

    def last_published(self) -> list[VirtualMachine]: ...

    def catch_up(self) -> None: ...


@runtime_checkable
class MigrationBackend(Protocol):
    """Handing a VM from one host to another, for backends whose VMs can
    be carried as a record and files (check with isinstance). Files are the
    caller's business: these calls never open, copy or delete one."""

    def migration_record(self, vm_id: UUID) -> MigratingVm:
        """The VM with its snapshots, as it stands; InvalidStateError while
        a power change is in flight."""
        ...

    def adopt_vm(self, record: MigratingVm) -> VirtualMachine:
        """Make the VM this host's, in its recorded power state, in one
        step; InvalidStateError if a VM with its id exists."""
        ...

    def release_vm(self, vm_id: UUID) -> None:
        """Forget the VM and its snapshots in one step, whatever its power
        state, leaving its files where they are."""
        ...

    def hold_vm(self, vm_id: UUID, reason: str = "the VM is migrating", again: bool = False) -> None:
        """Refuse every change to the VM (power, settings, devices,
        snapshots: InvalidStateError saying `reason`) until `unhold_vm`, as
        Hyper-V does while a VM migrates; InvalidStateError if it is
        changing or held (unless `again`: the caller holds it and only the
        reason changes)."""
        ...

    def unhold_vm(self, vm_id: UUID) -> None: ...

    def relocate_vm(self, record: MigratingVm) -> VirtualMachine:
        """Point the VM and its snapshots at the paths `record` names (its
        files moved on this host), in one step; InvalidStateError if its
        power state or snapshots changed since the record was read."""
        ...


@runtime_checkable
class HypervisorMigration(Protocol):
    """For backends whose hypervisor moves a running VM itself (libvirt's
    live migration, storage copied): the destination names the URI its
    hypervisor is reached at; the source reads the disks to copy and hands
    the VM over, which the destination's hypervisor then owns (persisted),
    and the source's forgets. Files are the caller's: the destination's
    empty images are made before, the source's are deleted after."""

    def migration_uri(self) -> str: ...

    def migration_disks(self, vm_id: UUID) -> list[MigratingDisk]:
        """The VM's disks at their paths here, each qcow2 with the names of
        the internal snapshots inside it; InvalidStateError when the
        hypervisor cannot move the VM as it is (a VHD, an ISO in a drive…)."""
        ...

    def migrate_to(self, vm_id: UUID, uri: str, placements: dict[str, str], progress: Callable[[int], None],
                   mebibytes_per_second: int = 0) -> None:
        """Move the VM, live if it runs, to the hypervisor at `uri`, its
        disks copied to where `placements` puts them (else their own
        paths), sending at most `mebibytes_per_second` (0: no cap); on
        failure the VM stays here as it was, snapshots too."""
        ...

    def migration_files(self, vm_id: UUID) -> tuple[list[str], list[str], list[str]]:
        """What the running VM's disks read but the hypervisor does not
        copy, each confined here: (the image files under its disks and
        those its snapshots name, parents first; those of them only this
        VM reads; its snapshots' memory files)."""
        ...

    def migration_snapshots(self, vm_id: UUID) -> tuple[tuple[str, ...], str | None]:
        """The hypervisor's description of each snapshot, parents first,
        and the current one's name."""
        ...

    def adopt_snapshots(self, record: MigratingVm) -> None:
        """On the destination, once the VM arrived: its snapshots as
        `record` describes them, paths placed (their data came inside the
        disks)."""
        ...

    def arriving_vms(self) -> set[UUID]:
        """On the destination, the VMs its hypervisor is still taking in: a
        move under way, whose outcome (here, or back on the source) is not
        known yet. Listed, but not yet this host's."""
        ...


@runtime_checkable
class LiveDiskCopy(Protocol):
    """For backends whose hypervisor copies a running VM's disks while the
    guest writes them (libvirt's block copy): storage migration on one host
    of a running VM, which no file copy could do consistently."""

    def copy_disks_live(self, vm_id: UUID, moves: dict[str, str], progress: Callable[[int], None],
                        prepared: frozenset[str] = frozenset(), shallow: frozenset[str] = frozenset(),
                        carried: Mapping[str, str] = MappingProxyType({})) -> None:
        """Copy each disk at a key of `moves` to its value (a new file the
        hypervisor makes; for a value in `prepared`, an image made
        beforehand holding the disk's snapshots; for one in `shallow`, an
        empty overlay made beforehand on the disk's moved backing chain,
        which gets the top's own data alone), switch the running guest and its definition to the
        copies once they are in sync; on failure disks not switched read
        their old files, and what each reads decides which file the caller deletes. The old files are left;
        the VM's definition and snapshots are then described with the new
        paths of `moves` and of `carried` (the files the caller moved
        itself: frozen disks, lower overlays, snapshot memory files)."""
        ...

    def settle_live_copies(self, vm_id: UUID, moves: dict[str, str]) -> None:
        """After a restart cut a `copy_disks_live` short: stop any copy still
        running, so the VM reads its old files and the copies are the
        caller's to delete (a VM already switched keeps its copies)."""
        ...


@runtime_checkable
class HealthReporting(Protocol):
    """For backends that can lose their hypervisor (a libvirt connection):
    `health()` answers at once, without asking the hypervisor, and every
    change of it is published as a `BackendHealthChanged`. A backend
    without it is always healthy."""

    def health(self) -> BackendHealth: ...


@runtime_checkable
class GuestDisplay(Protocol):
    """For backends that can read the mode a running guest's display is in
    now (the guest may have switched since it started): a reading taken
    only where a client asks for the display's mode, never with every
    runtime figure. None: the backend cannot tell now."""

    def guest_display_mode(self, vm_id: UUID) -> tuple[int, int] | None: ...


@runtime_checkable
class StatisticsBackend(Protocol):
    """For backends that count what each VM uses: `vm_counters()` reads the
    cumulative counters of every VM in one bulk call (a sampler calls it
    once per interval, however many VMs there are). VMs that are off are
    listed too, with zero counters."""

    def vm_counters(self) -> list[VmCounters]: ...


def change_power_state(
    backend: Backend, vm_id: UUID, request: PowerRequest, progress: ProgressCallback | None = None
) -> VirtualMachine:
    """Both phases at once, for callers that need no job."""
    return backend.begin_power_change(vm_id, request).run(progress)
