"""An application mounted beside /cimom gets its requests whole, and finds
the console's sessions on the server's parts."""

from __future__ import annotations

import http.client

from tests.support.live import in_process_server


def test_a_mounted_application_answers_under_its_prefix_with_the_session_checks(tmp_path) -> None:
    seen: dict = {}

    def extend(registry, catalog, parts) -> None:
        access = parts.web_access

        async def console(scope, receive, send) -> None:
            outcome = access.session(scope)
            status = getattr(outcome, "status", 200)
            seen["path"] = scope["path"]
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": b"console"})

        seen["access"] = access
        parts.mounts["/probe/"] = console

    with in_process_server(tmp_path, extensions=[extend]) as server:
        cookie, _ = seen["access"].sessions.open(None)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("GET", "/probe/vms")
        answer = conn.getresponse()
        assert (answer.status, answer.read(), seen["path"]) == (401, b"console", "/probe/vms")
        conn.request("GET", "/probe/vms", headers={"Cookie": f"cimprovider-session={cookie}"})
        answer = conn.getresponse()
        assert (answer.status, answer.read()) == (200, b"console")
        conn.request("GET", "/cimom")
        answer = conn.getresponse()
        assert (answer.status, answer.read()) == (501, b"only POST and M-POST are served\n")  # CIM operations still reach the CIM front end
        conn.close()
