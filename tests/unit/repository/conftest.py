from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cimprovider.repository import ClassRepository
from cimprovider.repository.compiler import default_mof_dir

INTEROP = "root/interop"
V2 = "root/virtualization/v2"


@pytest.fixture(scope="session")
def repo(tmp_path_factory) -> ClassRepository:
    """The shipped schema, compiled once for the whole session."""
    return ClassRepository.load(tmp_path_factory.mktemp("class-cache"))


@pytest.fixture
def mof_copy(tmp_path) -> Path:
    """A private, editable copy of the shipped mof folder."""
    dest = tmp_path / "mof"
    shutil.copytree(default_mof_dir(), dest, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return dest
