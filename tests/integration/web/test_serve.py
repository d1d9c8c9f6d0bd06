"""`cimprovider serve` serves the console beside /cimom and says where."""

from __future__ import annotations

import http.client
from pathlib import Path

from tests.support.live import serve_process
from tests.support.waiting import wait_until


def test_serve_announces_and_serves_the_console(tmp_path: Path) -> None:
    with serve_process("--port", "0", "--data-dir", str(tmp_path)) as served:
        port = served.ports["http"]
        wait_until(lambda: f"web console at http://127.0.0.1:{port}/ui/" in "".join(served.output),
                   "serve names the console's address")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/ui/login")
        answer = conn.getresponse()
        page = answer.read().decode()
        assert answer.status == 200 and "Sign in" in page
        conn.request("GET", "/ui/static/vendor/htmx.min.js")
        answer = conn.getresponse()
        assert answer.status == 200 and answer.read().startswith(b"var htmx")
        conn.close()
        assert served.stop() == 0
