"""Small parts of the console: the vendored files match their manifest,
only the console's own files are served, events name the VM they touch,
SSE framing, charts, and where sign-in may send the browser."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from uuid import uuid4

from cimprovider.schemas.events import PowerStateChanged
from cimprovider.schemas.power import PowerState
from cimprovider.web.live import affected, sse
from cimprovider.web.login import _next_page
from cimprovider.web.metrics import bar, sparkline
from cimprovider.web.static import serve_static


def test_vendored_files_hash_as_their_manifest_says() -> None:
    vendor = resources.files("cimprovider.web").joinpath("static", "vendor")
    entries = json.loads(vendor.joinpath("manifest.json").read_text())["files"]
    assert entries
    for entry in entries:
        data = vendor.joinpath(entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]
        assert entry["package"] and entry["version"] and entry["source"]


def test_only_the_consoles_own_files_are_served() -> None:
    assert serve_static("vendor/htmx.min.js").status == 200
    assert serve_static("console.css").content_type.startswith("text/css")
    for name in ("../access.py", "vendor/manifest.json", "/etc/passwd", "vendor.py"):
        assert serve_static(name).status == 404, name


def test_an_event_names_the_vm_it_touched() -> None:
    vm = uuid4()
    event = PowerStateChanged(vm_id=vm, old=PowerState.OFF, new=PowerState.RUNNING)
    assert affected(event) == ("vm", str(vm).upper())


def test_sse_frames_every_line_of_the_data() -> None:
    assert sse("vm", "<tr>\n<td>x</td></tr>") == b"event: vm\ndata: <tr>\ndata: <td>x</td></tr>\n\n"
    assert sse("gone", "") == b"event: gone\ndata: \n\n"


def test_charts_are_svg_with_a_name_and_clamped_values() -> None:
    line = sparkline([0, 50, 150], "Processor load history")
    assert 'role="img"' in line and 'aria-label="Processor load history"' in line
    assert ",0.0" in line  # 150 % is drawn at the top, not above it
    assert 'width="120.0"' in bar(512, 1024, "Memory in use")


def test_sign_in_sends_the_browser_only_to_console_pages() -> None:
    assert _next_page("/ui/vms/ABC") == "/ui/vms/ABC"
    for target in ("//evil.example/ui/", "https://evil.example/", "/cimom", "/ui\\..\\x", None, ""):
        assert _next_page(target) == "/ui/vms", target
