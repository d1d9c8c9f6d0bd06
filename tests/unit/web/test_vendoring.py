"""The vendored browser files are exactly those the manifest names and hashes
(re-fetching them from npm is `python -m cimprovider.web.vendoring`)."""

from __future__ import annotations

import json

from cimprovider.web.vendoring import MANIFEST, VENDOR, check_committed


def test_committed_files_match_the_manifest() -> None:
    assert check_committed() == []
    named = {VENDOR / p["folder"] / path for p in json.loads(MANIFEST.read_text())["packages"] for path in p["files"]}
    on_disk = {path for path in VENDOR.rglob("*") if path.is_file() and path != MANIFEST}
    assert on_disk == named  # nothing unlisted rides along
    names = {p["name"] for p in json.loads(MANIFEST.read_text())["packages"]}
    assert names == {"@xterm/xterm", "@xterm/addon-fit", "@novnc/novnc"}
