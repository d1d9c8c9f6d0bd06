"""`cimprovider serve` serves the console beside /cimom and says where."""

from __future__ import annotations

import http.client
import ssl
from pathlib import Path

from tests.integration.serve.conftest import certificate  # noqa: F401 - the fixture
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


def test_over_https_without_users_the_cookie_is_secure_and_only_loopback_names_answer(
        tmp_path: Path, certificate: tuple[Path, Path]) -> None:  # noqa: F811 - the fixture
    cert, key = certificate
    args = ("--port", "0", "--https-port", "0", "--no-http", "--certfile", str(cert), "--keyfile", str(key),
            "--data-dir", str(tmp_path))
    with serve_process(*args, expect_https=True, expect_http=False) as served:
        port = served.ports["https"]
        tls = ssl.create_default_context(cafile=str(cert))

        def ask(method: str, path: str, headers: dict[str, str], body: str | None = None):
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=60, context=tls)
            try:
                conn.request(method, path, body=body, headers={"Host": f"127.0.0.1:{port}", **headers})
                answer = conn.getresponse()
                return answer.status, dict(answer.getheaders()), answer.read().decode()
            finally:
                conn.close()

        # Authentication is off: sign-in needs no password, as the local administrator.
        status, headers, _ = ask("POST", "/ui/login", {"Origin": f"https://127.0.0.1:{port}",
                                 "Content-Type": "application/x-www-form-urlencoded"}, "next=%2Fui%2Fvms")
        cookie = headers["set-cookie"]
        assert status == 303 and "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        session = {"Cookie": cookie.split(";")[0]}
        status, _, page = ask("GET", "/ui/vms", session)
        assert status == 200 and "local administrator" in page
        # A foreign name rebound to this loopback address is not served.
        status, _, page = ask("GET", "/ui/vms", {**session, "Host": "rebound.example"})
        assert status == 403 and "answers loopback only" in page
        assert served.stop() == 0
