"""A qcow2 disk that arrives with its internal snapshots ahead of the
hypervisor's copy: its active layer is emptied (the guest-visible disk
reads zeros), the snapshots stay whole and the image checks clean; an
image that names another file (a backing file or an external data file,
wherever it points) is refused naming it, before qemu-img opens it, and the file it names is
left as it was."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cimprovider.migration.snapshot_images import ArrivedImageRefused, prepare_arrived_image
from cimprovider.schemas.migration import MigratingDisk

MIB = 1024 * 1024


def qemu_io(image: Path, command: str, fmt: str = "qcow2") -> bool:
    return subprocess.run(["qemu-io", "-f", fmt, "-c", command, str(image)], capture_output=True).returncode == 0


def disk_at(path: Path, snapshots: tuple[str, ...] = ("first",)) -> MigratingDisk:
    return MigratingDisk(path=str(path), format="qcow2", virtual_size=32 * MIB, snapshots=snapshots)


def test_the_active_layer_is_emptied_and_the_snapshots_stay(tmp_path: Path) -> None:
    image = tmp_path / "arrived.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "32M"], check=True)
    assert qemu_io(image, "write -P 0x11 0 1M")
    subprocess.run(["qemu-img", "snapshot", "-c", "first", str(image)], check=True)
    assert qemu_io(image, "write -P 0x22 0 2M")

    prepare_arrived_image(image, disk_at(image))

    assert qemu_io(image, "read -P 0 0 32M")
    check = subprocess.run(["qemu-img", "check", str(image)], capture_output=True, text=True)
    assert check.returncode == 0 and "No errors" in check.stdout, check.stdout + check.stderr
    subprocess.run(["qemu-img", "snapshot", "-a", "first", str(image)], check=True)
    assert qemu_io(image, "read -P 0x11 0 1M") and qemu_io(image, "read -P 0 1M 1M")


def test_a_snapshot_the_source_listed_must_be_inside(tmp_path: Path) -> None:
    image = tmp_path / "arrived.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "32M"], check=True)
    with pytest.raises(ArrivedImageRefused, match="the snapshot.*first.*not in the image"):
        prepare_arrived_image(image, disk_at(image))


@pytest.mark.parametrize("option", ["backing", "data_file"])
def test_an_image_naming_a_file_outside_is_refused_naming_it(tmp_path: Path, option: str) -> None:
    outside = tmp_path / "outside" / "secret.raw"
    outside.parent.mkdir()
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(outside), "32M"], check=True)
    image = tmp_path / "root" / "arrived.qcow2"
    image.parent.mkdir()
    args = ["-b", str(outside), "-F", "raw"] if option == "backing" else ["-o", f"data_file={outside}"]
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", *args, str(image), "32M"], check=True)
    assert qemu_io(outside, "write -P 0x77 0 1M", "raw")
    before = outside.read_bytes()

    with pytest.raises(ArrivedImageRefused, match=str(outside)):
        prepare_arrived_image(image, disk_at(image, ()))
    assert outside.read_bytes() == before
