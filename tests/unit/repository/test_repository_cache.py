"""The compiled-class cache: used when warm, rebuilt when the MOF changes."""

from __future__ import annotations

import subprocess
import sys

from cimprovider.repository import ClassRepository

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
    # The stale cache file is gone; the new one serves the next start.
    assert len(list(tmp_path.glob("classes-*.pickle"))) == 1
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
