"""SetParentVirtualHardDisk (and SetVirtualHardDiskSettingData) never make
a disk its own parent or ancestor, even with IgnoreIDMismatch: the chain
would loop and no method could open the disk again. Refused with 32773
naming ParentPath; the disk is left as it was."""

from __future__ import annotations

from pathlib import Path

from tests.backends.images.readers import vhdiinfo
from tests.integration.storage.vhd_client import create, fail, succeed, vhdsd


def test_a_disk_is_not_made_its_own_parent(conn, root: Path) -> None:
    base, child = root / "base.vhd", root / "child.vhd"
    create(conn, base)
    create(conn, child, "differencing", size=None, ParentPath=str(base))
    before = child.read_bytes()
    message = fail(conn, "SetParentVirtualHardDisk", 32773, ChildPath=str(child), ParentPath=str(child), IgnoreIDMismatch=True)
    assert message.startswith("ParentPath:") and "its own parent" in message
    assert child.read_bytes() == before
    succeed(conn, "ValidateVirtualHardDisk", Path=str(child))
    assert vhdiinfo(child)["Parent filename"] == "base.vhd"


def test_a_disk_is_not_made_the_child_of_its_own_child(conn, root: Path) -> None:
    base, a, b, c = root / "base.vhd", root / "a.vhd", root / "b.vhd", root / "c.vhd"
    create(conn, base)
    create(conn, a, "differencing", size=None, ParentPath=str(base))
    create(conn, b, "differencing", size=None, ParentPath=str(a))
    create(conn, c, "differencing", size=None, ParentPath=str(b))
    before = a.read_bytes()
    for parent in (b, c):  # A → B → A, and A → C → B → A
        message = fail(conn, "SetParentVirtualHardDisk", 32773, ChildPath=str(a), ParentPath=str(parent), IgnoreIDMismatch=True)
        assert message.startswith(f"ParentPath: {parent} has {a} in its own parent chain"), message
    message = fail(conn, "SetVirtualHardDiskSettingData", 32773,
                   VirtualDiskSettingData=vhdsd(a, "differencing", size=None, ParentPath=str(b)))
    assert message.startswith("ParentPath:") and "its own parent chain" in message
    assert a.read_bytes() == before
    succeed(conn, "ValidateVirtualHardDisk", Path=str(c))
    assert succeed(conn, "GetVirtualHardDiskSettingData", Path=str(a))["SettingData"]["ParentPath"] == str(base)
