"""The vendored browser files are exactly those static/vendor/manifest.json
names, with its hashes (re-fetching them from npm is
`python -m cimprovider.web.vendor --fetch`)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cimprovider.web

VENDOR = Path(cimprovider.web.__file__).parent / "static" / "vendor"


def test_committed_files_match_the_manifest() -> None:
    entries = json.loads((VENDOR / "manifest.json").read_text())["files"]
    altered = [e["file"] for e in entries if hashlib.sha256((VENDOR / e["file"]).read_bytes()).hexdigest() != e["sha256"]]
    assert altered == []
    named = {VENDOR / e["file"] for e in entries} | {VENDOR / "manifest.json"}
    on_disk = {path for path in VENDOR.rglob("*") if path.is_file() and "__pycache__" not in path.parts}
    assert on_disk == named  # nothing unlisted rides along
    assert {e["package"] for e in entries} >= {"@xterm/xterm", "@xterm/addon-fit", "@novnc/novnc"}
