"""Paths confined to the storage roots: `..`, symlinks, other folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cimprovider.backends.images import PathOutsideStorageError, StorageRoots
from cimprovider.backends.errors import InvalidParameterError


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    (tmp_path / "root" / "vms").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "secret.vhd").write_bytes(b"x")
    os.symlink(tmp_path / "other", tmp_path / "root" / "escape")
    os.symlink(tmp_path / "root" / "vms", tmp_path / "root" / "inside")
    os.symlink(tmp_path / "root", tmp_path / "alias")
    return tmp_path


def test_paths_inside_are_returned_resolved(layout: Path) -> None:
    roots = StorageRoots([layout / "root"])
    assert roots.confine(layout / "root" / "vms" / "a.vhd") == layout / "root" / "vms" / "a.vhd"
    assert roots.confine(layout / "root" / "vms" / ".." / "b.vhd") == layout / "root" / "b.vhd"
    assert roots.confine(layout / "root" / "inside" / "c.vhd") == layout / "root" / "vms" / "c.vhd"


@pytest.mark.parametrize(
    "relative",
    ["other/secret.vhd", "root/../other/secret.vhd", "root/vms/../../other/x.vhd", "root/escape/secret.vhd", "root/escape/new.vhd"],
)
def test_escapes_are_refused(layout: Path, relative: str) -> None:
    roots = StorageRoots([layout / "root"])
    with pytest.raises(PathOutsideStorageError) as caught:
        roots.confine(layout / relative, field="path")
    assert isinstance(caught.value, InvalidParameterError) and caught.value.field == "path"
    assert (layout / relative) not in roots


@pytest.mark.parametrize("text", ["relative/a.vhd", "", "/root/\0/a.vhd"])
def test_unusable_paths_are_refused(layout: Path, text: str) -> None:
    with pytest.raises(PathOutsideStorageError):
        StorageRoots([layout / "root"]).confine(text)


def test_a_root_reached_through_a_symlink(layout: Path) -> None:
    roots = StorageRoots([layout / "alias"])
    assert roots.confine(layout / "alias" / "vms" / "a.vhd") == layout / "root" / "vms" / "a.vhd"
    assert roots.confine(layout / "root" / "vms" / "a.vhd") == layout / "root" / "vms" / "a.vhd"
    with pytest.raises(PathOutsideStorageError):
        roots.confine(layout / "alias" / "escape" / "secret.vhd")


def test_several_roots(layout: Path) -> None:
    roots = StorageRoots([layout / "root", layout / "other"])
    assert roots.confine(layout / "other" / "secret.vhd") == layout / "other" / "secret.vhd"
    with pytest.raises(PathOutsideStorageError):
        roots.confine(layout / "elsewhere.vhd")
