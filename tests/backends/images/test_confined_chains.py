"""Parents named inside an image are confined like paths a client sends:
a differencing VHD or a qcow2 inside the storage roots whose parent (or a
parent further up) lies outside them is refused by every operation that
would read, write or delete through it, and the outside file is left
exactly as it was — not read, not written, not deleted."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cimprovider.backends.images import ImageService, PathOutsideStorageError
from cimprovider.backends.images.vhd_chain import create_differencing
from cimprovider.schemas.images import VirtualHardDiskSettings
from tests.support.untouched import assert_untouched, fingerprint

from .conftest import MIB, differencing, settings


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


def _vhd_through_outside(service: ImageService, root: Path, outside: Path) -> tuple[Path, Path, Path]:
    """grand (inside) ← middle (outside) ← child (inside): the middle disk is
    made with the project's own VHD writer, as a crafted file would be."""
    grand, middle, child = root / "grand.vhd", outside / "middle.vhd", root / "child.vhd"
    service.create(settings(grand, "dynamic"))
    create_differencing(middle, grand)
    create_differencing(child, middle)
    return grand, middle, child


def _qcow2_on_outside(root: Path, outside: Path) -> tuple[Path, Path]:
    base, child = outside / "base.qcow2", root / "child.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "4M"], check=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(child)], check=True)
    return base, child


def test_merging_through_an_outside_parent_is_refused_and_deletes_nothing(
    service: ImageService, root: Path, outside: Path
) -> None:
    grand, middle, child = _vhd_through_outside(service, root, outside)
    before = fingerprint(middle)
    with pytest.raises(PathOutsideStorageError, match=str(middle)):
        service.merge(child, grand)
    assert_untouched(middle, before)
    assert child.is_file()


@pytest.mark.parametrize("operation", ["validate", "get_settings", "get_state", "convert", "create_child"])
def test_an_outside_vhd_parent_is_never_opened(
    service: ImageService, root: Path, outside: Path, operation: str
) -> None:
    _grand, middle, child = _vhd_through_outside(service, root, outside)
    before = fingerprint(middle)
    with pytest.raises(PathOutsideStorageError, match=str(middle)):
        _run(service, operation, child, root)
    assert_untouched(middle, before)


@pytest.mark.parametrize("operation", ["validate", "get_settings", "convert", "create_child"])
def test_an_outside_qcow2_backing_file_is_never_opened(
    service: ImageService, root: Path, outside: Path, operation: str
) -> None:
    base, child = _qcow2_on_outside(root, outside)
    before = fingerprint(base)
    with pytest.raises(PathOutsideStorageError, match=str(base)):
        _run(service, operation, child, root)
    assert_untouched(base, before)


def test_a_qcow2_backing_file_named_relative_to_the_image_is_confined(service: ImageService, root: Path, outside: Path) -> None:
    base = outside / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "4M"], check=True)
    child = root / "child.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "../outside/base.qcow2", "-F", "qcow2", str(child)],
                   check=True)  # fmt: skip
    before = fingerprint(base)
    with pytest.raises(PathOutsideStorageError, match="base.qcow2"):
        service.validate(child)
    assert_untouched(base, before)


def test_chains_inside_the_roots_still_work(service: ImageService, root: Path) -> None:
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(root / "base.qcow2"), "4M"], check=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", str(root / "top.qcow2")],
                   check=True)  # fmt: skip
    service.validate(root / "top.qcow2")
    assert service.get_settings(root / "top.qcow2").max_internal_size == 4 * MIB
    service.create(settings(root / "base.vhd", "dynamic"))
    service.create(differencing(root / "child.vhd", root / "base.vhd"))
    service.validate(root / "child.vhd")
    assert service.merge(root / "child.vhd", root / "base.vhd") == [root / "child.vhd"]


def _run(service: ImageService, operation: str, image: Path, root: Path) -> None:
    if operation == "convert":
        service.convert(image, settings(root / "flat.vhdx", "dynamic", "vhdx"))
    elif operation == "create_child":
        if image.suffix == ".vhd":
            service.create(differencing(root / "grandchild.vhd", image))
        else:
            service.create(VirtualHardDiskSettings(type="differencing", format="vhd", path=root / "x.vhd", parent_path=image))
    else:
        getattr(service, operation)(image)


def test_a_child_of_an_outside_parent_can_be_pointed_back_inside(service: ImageService, root: Path, outside: Path) -> None:
    """Re-parenting reads the child and the new parent only: it is how such
    a disk is mended, so it is allowed, and the outside file stays unread."""
    grand, middle, child = _vhd_through_outside(service, root, outside)
    shutil.copyfile(middle, root / "mended.vhd")
    before = fingerprint(middle)
    service.set_parent(child, root / "mended.vhd")
    service.validate(child)
    assert service.get_settings(child).parent_path == root / "mended.vhd"
    assert_untouched(middle, before)
