from __future__ import annotations

from pathlib import Path

import pytest

from cimprovider.backends.images import ImageService, StorageRoots
from cimprovider.schemas.images import VirtualHardDiskSettings

MIB = 1024 * 1024


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "disks"
    root.mkdir()
    return root


@pytest.fixture
def service(root: Path) -> ImageService:
    return ImageService(StorageRoots([root]))


def settings(path: Path, type: str, format: str = "vhd", size: int = 4 * MIB, **extra: object) -> VirtualHardDiskSettings:
    return VirtualHardDiskSettings(type=type, format=format, path=path, max_internal_size=size, **extra)


def differencing(path: Path, parent: Path) -> VirtualHardDiskSettings:
    return VirtualHardDiskSettings(type="differencing", format="vhd", path=path, parent_path=parent)
