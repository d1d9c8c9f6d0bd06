"""The compiled-class cache: used when warm, rebuilt when the MOF changes."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from cimprovider.repository import ClassRepository
from cimprovider.repository.compiler import KEPT_SCHEMAS

V2 = "root/virtualization/v2"


def test_second_load_comes_from_the_cache(tmp_path, mof_copy):
    cold = ClassRepository.load(tmp_path, mof_dir=mof_copy)
    assert not cold.from_cache
    assert len(list(tmp_path.glob("classes-*.pickle"))) == 1
    warm = ClassRepository.load(tmp_path, mof_dir=mof_copy)
    assert warm.from_cache
    assert warm.get_class(V2, "CIM_ComputerSystem") == cold.get_class(V2, "CIM_ComputerSystem")
    assert warm.class_names(V2, deep=True) == cold.class_names(V2, deep=True)


def test_a_changed_mof_text_recompiles(tmp_path, mof_copy):
    ClassRepository.load(tmp_path, mof_dir=mof_copy)
    jobs = mof_copy / "dmtf/jobs.mof"
    jobs.write_text(jobs.read_text().replace(
        "   string JobStatus;", "   string JobStatus;\n\n   string AddedForTheTest;"))
    changed = ClassRepository.load(tmp_path, mof_dir=mof_copy)
    assert not changed.from_cache
    assert "AddedForTheTest" in changed.get_class(V2, "CIM_ConcreteJob").properties
    # The new file serves the next start; the other stays for the
    # installation it was compiled for (a user's cache is shared).
    assert len(list(tmp_path.glob("classes-*.pickle"))) == 2
    assert ClassRepository.load(tmp_path, mof_dir=mof_copy).from_cache


def test_an_unreadable_cache_file_is_recompiled_over(tmp_path, mof_copy):
    ClassRepository.load(tmp_path, mof_dir=mof_copy)
    (cache_file,) = tmp_path.glob("classes-*.pickle")
    cache_file.write_bytes(b"not a pickle")
    again = ClassRepository.load(tmp_path, mof_dir=mof_copy)
    assert not again.from_cache and again.has_class(V2, "CIM_ComputerSystem")
    assert ClassRepository.load(tmp_path, mof_dir=mof_copy).from_cache


def test_without_a_cache_dir_nothing_is_written(tmp_path, mof_copy):
    repo = ClassRepository.load(None, mof_dir=mof_copy)
    assert not repo.from_cache
    assert not list(tmp_path.glob("**/*.pickle"))


def test_a_cache_miss_is_compiled_outside_the_loading_process(tmp_path, mof_copy):
    # The loading process (the server) never takes in the MOF compiler: a
    # child compiles and writes the cache, which the server then loads.
    script = ("import sys; from pathlib import Path; from cimprovider.repository import ClassRepository; "
              f"repo = ClassRepository.load(Path({str(tmp_path)!r}), mof_dir=Path({str(mof_copy)!r})); "
              "print(repo.from_cache, repo.has_class('root/virtualization/v2', 'Msvm_ComputerSystem'), 'pywbem_mock' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, check=True)
    assert done.stdout.split() == ["False", "True", "False"]
    assert len(list(tmp_path.glob("classes-*.pickle"))) == 1


def test_only_the_newest_schemas_are_kept(tmp_path, mof_copy):
    for old in range(KEPT_SCHEMAS + 2):
        stale = tmp_path / f"classes-{old:032x}.pickle"
        stale.write_bytes(b"another version's schema")
        os.utime(stale, (old, old))
    ClassRepository.load(tmp_path, mof_dir=mof_copy)
    kept = sorted(p.name for p in tmp_path.glob("classes-*.pickle"))
    newest_others = [f"classes-{old:032x}.pickle" for old in range(2, KEPT_SCHEMAS + 2)][-(KEPT_SCHEMAS - 1):]
    assert len(kept) == KEPT_SCHEMAS and set(newest_others) < set(kept)


class _Planted:
    """A pickle that, loaded, makes a folder: what a user who could write
    to the cache would plant to run code as the server."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _plant(cache_dir: Path, name: str, marker: Path) -> None:
    (cache_dir / name).write_bytes(pickle.dumps(_Planted(marker)))


@pytest.mark.parametrize("shared", ["writable by others", "another user's"])
def test_a_cache_folder_another_user_can_write_is_never_read(tmp_path, mof_copy, shared):
    ours = tmp_path / "ours"
    ClassRepository.load(ours, mof_dir=mof_copy)
    (name,) = [p.name for p in ours.glob("classes-*.pickle")]
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    _plant(theirs, name, tmp_path / "ran")
    if shared == "writable by others":
        theirs.chmod(0o777)
    else:
        os.chown(theirs, 65534, 65534)
    repo = ClassRepository.load(theirs, mof_dir=mof_copy)
    assert not repo.from_cache and repo.has_class(V2, "Msvm_ComputerSystem")
    assert not (tmp_path / "ran").exists()
    # Nothing is written there either: the planted file is as it was.
    assert [p.name for p in theirs.iterdir()] == [name]


def test_a_cache_file_another_user_wrote_is_never_read(tmp_path, mof_copy):
    ClassRepository.load(tmp_path, mof_dir=mof_copy)
    (cache_file,) = tmp_path.glob("classes-*.pickle")
    _plant(tmp_path, cache_file.name, tmp_path / "ran")
    os.chown(cache_file, 65534, 65534)
    repo = ClassRepository.load(tmp_path, mof_dir=mof_copy)
    assert not repo.from_cache and repo.has_class(V2, "Msvm_ComputerSystem")
    assert not (tmp_path / "ran").exists()
    # Compiled over with this user's own file, which the next start reads.
    assert cache_file.stat().st_uid == os.geteuid()
    assert ClassRepository.load(tmp_path, mof_dir=mof_copy).from_cache
