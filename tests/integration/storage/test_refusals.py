"""What the image service refuses: paths outside the storage roots (plain,
with `..`, through a symlink), embedded instances with bad values (32773
naming the property), missing files (32779); and nothing is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from pywbem import CIMInstance, Uint16, Uint32, Uint64

from cimprovider.backends.images.vhd_chain import create_differencing
from tests.backends.images.readers import qemu_io
from tests.integration.storage.vhd_client import MIB, create, fail, vhdsd
from tests.support.untouched import assert_untouched, fingerprint


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


def test_a_path_outside_the_roots_is_refused(conn, outside: Path) -> None:
    message = fail(conn, "CreateVirtualHardDisk", 32773, VirtualDiskSettingData=vhdsd(outside / "x.vhd"))
    assert message.startswith("Path:") and "storage roots" in message
    assert not (outside / "x.vhd").exists()


def test_dot_dot_out_of_a_root_is_refused(conn, root: Path, outside: Path) -> None:
    sneaky = str(root) + "/" + "../" * len(root.parts) + str(outside.relative_to(outside.anchor)) + "/x.vhd"
    assert Path(sneaky).resolve() == (outside / "x.vhd").resolve()
    message = fail(conn, "CreateVirtualHardDisk", 32773, VirtualDiskSettingData=vhdsd(Path(sneaky)))
    assert message.startswith("Path:")
    assert not (outside / "x.vhd").exists()


def test_a_symlink_out_of_a_root_is_not_followed(conn, root: Path, outside: Path) -> None:
    (root / "escape").symlink_to(outside, target_is_directory=True)
    fail(conn, "CreateVirtualHardDisk", 32773, VirtualDiskSettingData=vhdsd(root / "escape" / "x.vhd"))
    assert list(outside.iterdir()) == []
    # An existing image reached through a link is not read, changed or merged either.
    create(conn, root / "inside.vhd")  # the image service may write here...
    (root / "inside.vhd").rename(outside / "victim.vhd")  # ...but this one now lives outside
    (root / "victim.vhd").symlink_to(outside / "victim.vhd")
    before = (outside / "victim.vhd").read_bytes()
    fail(conn, "GetVirtualHardDiskSettingData", 32773, Path=str(root / "victim.vhd"))
    fail(conn, "ResizeVirtualHardDisk", 32773, Path=str(root / "victim.vhd"), MaxInternalSize=Uint64(8 * MIB))
    fail(conn, "CompactVirtualHardDisk", 32773, Path=str(root / "victim.vhd"), Mode=Uint16(0))
    message = fail(conn, "ConvertVirtualHardDisk", 32773, SourcePath=str(root / "victim.vhd"),
                   VirtualDiskSettingData=vhdsd(root / "copy.vhdx", "dynamic", "vhdx", size=None))
    assert message.startswith("SourcePath:")
    assert (outside / "victim.vhd").read_bytes() == before and not (root / "copy.vhdx").exists()


def test_a_parent_outside_the_roots_is_refused(conn, root: Path, outside: Path) -> None:
    create(conn, root / "parent.vhd")
    (root / "parent.vhd").rename(outside / "parent.vhd")
    message = fail(conn, "CreateVirtualHardDisk", 32773,
                   VirtualDiskSettingData=vhdsd(root / "child.vhd", "differencing", size=None, ParentPath=str(outside / "parent.vhd")))
    assert message.startswith("ParentPath:")
    assert not (root / "child.vhd").exists()


@pytest.mark.parametrize(
    ("values", "property_name"),
    [
        ({"Type": Uint16(7)}, "Type"),
        ({"Format": Uint16(4)}, "Format"),
        ({"Format": Uint16(9)}, "Format"),
        ({"MaxInternalSize": Uint64(1000)}, "MaxInternalSize"),
        ({"MaxInternalSize": "lots"}, "MaxInternalSize"),
        ({"BlockSize": Uint32(3 * MIB)}, "BlockSize"),
        ({"LogicalSectorSize": Uint32(4096)}, "LogicalSectorSize"),
        ({"Type": Uint16(4)}, "ParentPath"),
        ({"ParentPath": "/somewhere/parent.vhd"}, "ParentPath"),
        ({"Path": None}, "Path"),
        ({"Type": None}, "Type"),
    ],
)
def test_bad_settings_name_the_property(conn, root: Path, values: dict, property_name: str) -> None:
    properties = {"Type": Uint16(3), "Format": Uint16(2), "Path": str(root / "bad.vhd"), "MaxInternalSize": Uint64(4 * MIB)}
    properties.update(values)
    text = CIMInstance("Msvm_VirtualHardDiskSettingData", properties={k: v for k, v in properties.items() if v is not None}).tocimxmlstr()
    message = fail(conn, "CreateVirtualHardDisk", 32773, VirtualDiskSettingData=text)
    assert message.startswith(property_name), message
    assert not (root / "bad.vhd").exists()


def test_not_an_embedded_instance(conn) -> None:
    message = fail(conn, "CreateVirtualHardDisk", 32773, VirtualDiskSettingData="<INSTANCE")
    assert message.startswith("VirtualDiskSettingData")


def test_missing_files_are_32779(conn, root: Path) -> None:
    missing = root / "missing.vhd"
    assert "missing.vhd" in fail(conn, "GetVirtualHardDiskSettingData", 32779, Path=str(missing))
    fail(conn, "GetVirtualHardDiskState", 32779, Path=str(missing))
    fail(conn, "ValidateVirtualHardDisk", 32779, Path=str(missing))
    fail(conn, "MergeVirtualHardDisk", 32779, SourcePath=str(missing), DestinationPath=str(root / "other.vhd"))
    fail(conn, "CreateVirtualHardDisk", 32779,
         VirtualDiskSettingData=vhdsd(root / "child.vhd", "differencing", size=None, ParentPath=str(missing)))


def test_an_existing_file_is_not_overwritten(conn, root: Path) -> None:
    path = root / "taken.vhd"
    create(conn, path, "fixed", size=MIB)
    qemu_io(path, "vpc", "write -P 0x99 0 64k")
    assert fail(conn, "CreateVirtualHardDisk", 32773, VirtualDiskSettingData=vhdsd(path)).startswith("Path:")
    qemu_io(path, "vpc", "read -P 0x99 0 64k")


def test_a_crafted_chain_through_an_outside_parent_is_refused_by_every_method(conn, root: Path, outside: Path) -> None:
    """grand (inside) <- middle (outside) <- child (inside), the middle disk's
    path coming from the child's own locators: no method reads, writes or
    deletes through it, and each names it."""
    create(conn, root / "grand.vhd")
    middle, child = outside / "middle.vhd", root / "child.vhd"
    create_differencing(middle, root / "grand.vhd")
    create_differencing(child, middle)
    before = fingerprint(middle)
    calls = {
        "MergeVirtualHardDisk": {"SourcePath": str(child), "DestinationPath": str(root / "grand.vhd")},
        "ValidateVirtualHardDisk": {"Path": str(child)},
        "GetVirtualHardDiskSettingData": {"Path": str(child)},
        "GetVirtualHardDiskState": {"Path": str(child)},
        "ConvertVirtualHardDisk": {"SourcePath": str(child),
                                   "VirtualDiskSettingData": vhdsd(root / "flat.vhdx", "dynamic", "vhdx", size=None)},
    }
    for method, params in calls.items():
        message = fail(conn, method, 32773, **params)
        assert str(middle) in message and "storage roots" in message, (method, message)
    assert_untouched(middle, before)
    assert child.is_file() and not (root / "flat.vhdx").exists()
