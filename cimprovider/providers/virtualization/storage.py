"""Registering the storage side of the model: the image management service
and its storage jobs, over the storage roots of the configuration (created
at start, so a fresh data directory is usable at once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cimprovider.backends.images import ImageService, StorageRoots
from cimprovider.providers.virtualization.images import ImageManagementService, disks_in_use
from cimprovider.providers.virtualization.model import Virtualization
from cimprovider.providers.virtualization.render import NAMESPACE
from cimprovider.providers.virtualization.storage_jobs import StorageJobProvider

if TYPE_CHECKING:
    from cimprovider.server import ServerParts


def register_storage(parts: "ServerParts", virt: Virtualization) -> ImageService:
    roots = parts.config.storage_roots
    for root in roots:
        root.mkdir(parents=True, exist_ok=True)
    images = ImageService(StorageRoots(roots))
    images.attached = disks_in_use(virt.backend, images)
    for provider in (ImageManagementService(virt, images), StorageJobProvider(virt)):
        parts.registry.register(NAMESPACE, provider)
    return images
