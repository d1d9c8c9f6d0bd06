"""What moves when a VM migrates between hosts, in backend terms: the VM
with its snapshots and the files they read (MigratingVm), the offer a
source makes to a destination (where each file lands, its size and
checksum), and a migration request as the CIM side hands it over."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from cimprovider.schemas.base import SchemaModel
from cimprovider.schemas.snapshots import Snapshot, SnapshotPosition
from cimprovider.schemas.vm import VirtualMachine


class MigratingVm(SchemaModel):
    """A VM as one host hands it to another: it is adopted as it is, in
    its power state (a running VM keeps running, with its start time)."""

    vm: VirtualMachine
    started_at: float | None = None
    snapshots: tuple[Snapshot, ...] = ()
    position: SnapshotPosition | None = None
    # Disk files the backend made for snapshots (it may delete them later).
    snapshot_disks: tuple[str, ...] = ()
    # The hypervisor's own description of the VM (a libvirt domain's XML),
    # for a backend that adopts the VM as it was defined; the paths it
    # names are rewritten through `placed_paths` (source path -> destination).
    definition: str | None = None
    placed_paths: dict[str, str] = Field(default_factory=dict)
    # A saved VM's memory image when the hypervisor keeps it outside the
    # VM's record (libvirt's managed save file); it travels as a file.
    saved_state: str | None = None
    # The hypervisor's own descriptions of the VM's snapshots (libvirt
    # snapshot XML), parents first, redefined on the destination; the
    # name of the current one.
    snapshot_definitions: tuple[str, ...] = ()
    current_snapshot: str | None = None
    # External snapshots' memory files the hypervisor keeps outside the
    # storage roots: they travel as files, beside the VM's first disk.
    snapshot_memory: tuple[str, ...] = ()


class FileSlot(SchemaModel):
    """One file to carry: where it lands on the destination, how big it is,
    its SHA-256, and (a differencing disk) the destination path of its parent."""

    path: str = Field(min_length=1, max_length=4096)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    parent: str | None = None


class MigratingDisk(SchemaModel):
    """A disk the hypervisor itself copies (libvirt's non-shared storage
    migration): where it lands, its format and virtual size, so the
    destination can make the image it is copied into."""

    path: str = Field(min_length=1, max_length=4096)
    format: str = Field(pattern=r"^(qcow2|raw)$")
    virtual_size: int = Field(gt=0)
    # The internal snapshots inside the qcow2: then the file itself travels
    # first (an upload of the offer's files, at this path) and the
    # hypervisor copies the disk into it instead of into an empty image.
    snapshots: tuple[str, ...] = ()
    # The image the disk reads through (an external snapshot's frozen disk,
    # a base image): it travels as a file and the disk is made on it, so
    # the hypervisor copies only what the disk itself holds.
    backing: str | None = Field(default=None, max_length=4096)
    backing_format: str | None = Field(default=None, pattern=r"^(qcow2|raw)$")


class MigrationOffer(SchemaModel):
    source_host: str
    backend: str
    record: MigratingVm  # paths already as they will be on the destination
    files: tuple[FileSlot, ...] = ()
    # Disks the hypervisor copies itself (no files are uploaded then).
    disks: tuple[MigratingDisk, ...] = ()
    allow_overwrite: bool = False


class MigrationRequest(SchemaModel):
    vm_id: UUID
    destination: str = Field(min_length=1)
    migration_type: int = 32768
    # Source path -> destination path, for the disks given new places.
    placements: dict[str, str] = Field(default_factory=dict)
    allow_overwrite: bool = False
    retain_source_copies: bool = False
    # Where the destination is reached, tried in order (empty: its URL's host).
    destination_addresses: tuple[str, ...] = ()
    compress: bool = False  # the files travel deflated
    priority: int = 0  # 0 Unknown, 1 Low, 2 High: the order waiting migrations start in
    # Hyper-V's Bandwidth: the most the move sends, in Mbit/s (0: no cap).
    bandwidth_mbps: int = Field(default=0, ge=0, le=65535)
