"""The README's examples, run as a reader of the README runs them: the
pywbem snippets of "Using it", then every command block of the tour, in
order, through bash, against a fresh `cimprovider serve` whose data
directory is the default one under $HOME. A block that fails fails the test
with what it printed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.live import serve_process

README = Path(__file__).resolve().parents[2] / "README.md"
DEFAULT_URL = "http://127.0.0.1:5988"


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def served(home):
    data = home / ".local" / "share" / "cimprovider"
    with serve_process("--port", "0", "--data-dir", str(data), env={"HOME": str(home)}) as live:
        yield live


def environment(home: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIMPROVIDER_")}
    env.update({"HOME": str(home), "CIMPROVIDER_SERVER": url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull})
    env.pop("XDG_CONFIG_HOME", None)
    return env


def test_the_tour_runs_in_order(home, served):
    env = environment(home, served.url)
    snippets = [b for b in blocks(section("Using it"), "python") if "virtualization/v2" in b]
    assert snippets, "the README lost its pywbem example"
    for snippet in snippets:
        ran = subprocess.run([sys.executable, "-c", snippet.replace(DEFAULT_URL, served.url)],
                             capture_output=True, text=True, env=env, timeout=300)
        assert ran.returncode == 0, f"README pywbem example failed:\n{snippet}\n{ran.stderr}"
    storage = home / ".local" / "share" / "cimprovider" / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    (storage / "install.iso").write_bytes(b"\0" * 4096)  # "put an installation ISO in the storage root"
    tour = blocks(section("A tour of the command line"), "sh")
    assert len(tour) >= 2, "the README's tour has no command blocks"
    for block in tour:
        ran = subprocess.run(["bash", "-euo", "pipefail", "-c", block], capture_output=True, text=True,
                             env=env, timeout=600, cwd=home)
        assert ran.returncode == 0, f"README tour block failed ({ran.returncode}):\n{block}\nstdout:\n{ran.stdout}\nstderr:\n{ran.stderr}"
    names = subprocess.run([sys.executable, "-m", "cimprovider.cli", "vm", "list", "-o", "json"],
                           capture_output=True, text=True, env=env, timeout=120)
    assert sorted(row["name"] for row in json.loads(names.stdout)) == ["db", "web", "web2"]
