"""Registering the storage side of the model: the image management service
and its storage jobs, over the storage roots of the configuration (created
at start, so a fresh data directory is usable at once); and snapshots —
their service, associations, and renaming through the management
service's ModifySystemSettings (its handler is wrapped here, so the
management module needs no knowledge of snapshots)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cimprovider.backends.images import ImageService, StorageRoots
from cimprovider.backends.images.partial_files import remove_leftovers
from cimprovider.providers.virtualization.storage.images import ImageManagementService, disks_in_use
from cimprovider.providers.virtualization.model import VSMS, Virtualization
from cimprovider.providers.virtualization.snapshots.snapshot_settings import SNAPSHOT_ASSOCIATIONS, snapshots_of
from cimprovider.providers.virtualization.snapshots.snapshots import SnapshotService, rename_hook
from cimprovider.providers.virtualization.render import NAMESPACE
from cimprovider.providers.virtualization.storage.storage_jobs import StorageJobProvider

if TYPE_CHECKING:
    from cimprovider.server import ServerParts


def register_storage(parts: "ServerParts", virt: Virtualization) -> ImageService:
    roots = parts.config.storage_roots
    for root in roots:
        root.mkdir(parents=True, exist_ok=True)
    # Jobs a kill cut short left their partial files; their jobs now read
    # as interrupted, so nothing will ever finish them.
    remove_leftovers(roots)
    images = ImageService(StorageRoots(roots))
    images.attached = disks_in_use(virt.backend, images)
    snapshots = SnapshotService(virt, snapshots_of(virt))
    providers = [ImageManagementService(virt, images), StorageJobProvider(virt), snapshots]
    providers += [association(virt) for association in SNAPSHOT_ASSOCIATIONS]
    for provider in providers:
        parts.registry.register(NAMESPACE, provider)
    management = parts.registry.method_provider(NAMESPACE, VSMS)
    handlers = getattr(management, "handlers", None)
    if isinstance(handlers, dict) and "modifysystemsettings" in handlers:
        handlers["modifysystemsettings"] = rename_hook(snapshots, handlers["modifysystemsettings"])
    return images
