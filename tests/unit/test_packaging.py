"""The built wheel holds every package of the tree and the whole schema."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAPPED = {"schemas": "cimprovider/schemas", "mof": "cimprovider/mof", "cli": "cimprovider/cli"}


def installed_name(path: Path) -> str:
    relative = path.relative_to(ROOT).as_posix()
    top, _, rest = relative.partition("/")
    return f"{MAPPED.get(top, top)}/{rest}" if rest else MAPPED.get(top, top)


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The files of the wheel built from this tree (built once: it takes a while)."""
    target = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(target), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = target.glob("cimprovider-*.whl")
    return set(zipfile.ZipFile(wheel).namelist())


def test_wheel_contains_every_module_and_mof(wheel_names: set[str]):
    names = wheel_names
    sources = [p for top in ("cimprovider", *MAPPED) for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts]
    missing = sorted(installed_name(p) for p in sources if installed_name(p) not in names)
    assert not missing, f"packages missing from pyproject's list: {missing}"
    mof = sorted((ROOT / "mof").rglob("*.mof"))
    assert len(mof) > 10
    assert {installed_name(p) for p in mof} <= names


def test_wheel_carries_the_browser_files(wheel_names: set[str]):
    """The web console runs from the wheel alone: its script and the
    vendored JavaScript (no CDN) are in it."""
    names = wheel_names
    vendor = ROOT / "cimprovider" / "web" / "static" / "vendor"
    wanted = [f"cimprovider/web/static/vendor/{e['file']}" for e in json.loads((vendor / "manifest.json").read_text())["files"]]
    wanted += [installed_name(p) for p in (ROOT / "cimprovider" / "web" / "vm_console" / "assets").iterdir()]
    assert len(wanted) > 50
    assert not sorted(set(wanted) - names)
