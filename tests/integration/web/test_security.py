"""The console's defences, tried with a plain HTTP client: no page or
stream without a session, changes refused without the session's CSRF token
or from another origin, a reader refused every change (and nothing
changes), sign-in throttled together with the CIM port, sign-out and a
removed user ending the session, no open redirect."""

from __future__ import annotations

import base64
import http.client
import re

import pytest
import pywbem

from cimprovider.http.auth import UsersFile
from tests.integration.web.browserless import WebClient, signed_in
from tests.integration.web.conftest import PASSWORDS, write_users
from tests.support.live import LiveServer
from tests.support.waiting import wait_until

CS = "Msvm_ComputerSystem"


def cim(server: LiveServer, user: str = "alice") -> pywbem.WBEMConnection:
    return server.connection("root/virtualization/v2", (user, PASSWORDS[user]))


def vm_state(server: LiveServer, guid: str) -> int:
    path = pywbem.CIMInstanceName(CS, {"CreationClassName": CS, "Name": guid}, namespace="root/virtualization/v2")
    return int(cim(server).GetInstance(path)["EnabledState"])


@pytest.fixture(scope="module")
def vm(web_server: LiveServer) -> str:
    """A VM made through the wizard, off."""
    admin = signed_in(web_server.port, "alice")
    answer = admin.post("/ui/vms/new", {"step": "6", "go": "finish", "name": "guarded", "generation": "2",
                                        "memory": "512", "processors": "1", "switch": "", "disk": "none",
                                        "media": "later"})
    assert answer.status == 303, answer.body
    return answer.headers["location"].split("/")[-1].split("?")[0]


def post_routes() -> list[str]:
    from cimprovider.web.pages.vm import GUID
    from cimprovider.web.routes import add_routes

    class Collector:
        def __init__(self) -> None:
            self.paths: list[str] = []
            self.streams: dict = {}

        def route(self, method: str, pattern: str, handler: object) -> None:
            if method == "POST":
                self.paths.append(pattern)

    collector = Collector()
    add_routes(collector)  # type: ignore[arg-type]
    return ["/ui" + p.replace(GUID, "{guid}") for p in collector.paths]


def test_nothing_is_served_without_a_session(web_server: LiveServer, vm: str) -> None:
    anonymous = WebClient(web_server.port)
    for path in ("/ui/vms", f"/ui/vms/{vm}", "/ui/hosts", "/ui/storage", "/ui/vms/new"):
        answer = anonymous.get(path)
        assert answer.status == 303 and answer.headers["location"].startswith("/ui/login?next="), path
        assert "guarded" not in answer.body
    assert anonymous.get("/ui/events").status == 401
    assert anonymous.get(f"/ui/vms/{vm}/jobs").status == 303
    forged = WebClient(web_server.port, cookie="cimprovider-session=forged")
    assert forged.get("/ui/events").status == 401
    for path in post_routes():
        answer = anonymous.post(path.format(guid=vm), {"action": "start"})
        assert answer.status == 401, path
    assert vm_state(web_server, vm) == 3


def test_changes_need_the_sessions_token_and_origin(web_server: LiveServer, vm: str) -> None:
    admin = signed_in(web_server.port, "alice")
    other = signed_in(web_server.port, "alice")
    path = f"/ui/vms/{vm}/power"
    assert admin.post(path, {"action": "start"}, token=False).status == 403
    assert admin.post(path, {"action": "start", "csrf_token": "guess"}, token=False).status == 403
    assert admin.post(path, {"action": "start", "csrf_token": other.token or ""}, token=False).status == 403
    admin.origin = "https://evil.example"
    assert admin.post(path, {"action": "start"}).status == 403
    assert vm_state(web_server, vm) == 3
    admin.origin = f"http://127.0.0.1:{web_server.port}"
    answer = admin.post(path, {"action": "start"})
    assert answer.status == 200 and "Start requested" in answer.body
    wait_until(lambda: vm_state(web_server, vm) == 2, "the VM runs")
    # The same refusal a CIM client gets, in words: starting a running VM.
    again = admin.post(path, {"action": "start"})
    assert again.status == 409 and "32775 (invalid state for this operation)" in again.body
    assert admin.post(path, {"action": "turnoff"}).status == 200
    wait_until(lambda: vm_state(web_server, vm) == 3, "the VM is off")


def test_a_reader_sees_but_every_change_is_refused(web_server: LiveServer, vm: str) -> None:
    reader = signed_in(web_server.port, "rita")
    page = reader.get(f"/ui/vms/{vm}")
    assert page.status == 200 and "guarded" in page.body
    before = cim(web_server).EnumerateInstances("Msvm_VirtualSystemSettingData")
    for path in post_routes():
        answer = reader.post(path.format(guid=vm), {"action": "start", "name": "renamed", "startup": "1024",
                                                    "processors": "4", "folder": "/tmp", "size": "1"})
        assert answer.status == 403 and "reader" in answer.body, path
    after = cim(web_server).EnumerateInstances("Msvm_VirtualSystemSettingData")
    assert sorted(str(i["ElementName"]) for i in after) == sorted(str(i["ElementName"]) for i in before)
    assert vm_state(web_server, vm) == 3


def test_sign_in_failures_are_throttled_with_the_cim_ports(web_server: LiveServer) -> None:
    guesser = WebClient(web_server.port, origin=f"http://127.0.0.1:{web_server.port}")
    statuses = [guesser.post("/ui/login", {"user": "nobody-here", "password": f"guess{i}"}).status
                for i in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    refused = guesser.post("/ui/login", {"user": "nobody-here", "password": "again"})
    assert refused.status == 429 and int(refused.headers["retry-after"]) > 0
    # The CIM port counts the same failures: the name is throttled there too.
    conn = http.client.HTTPConnection("127.0.0.1", web_server.port, timeout=60)
    credentials = base64.b64encode(b"nobody-here:another").decode()
    conn.request("POST", "/cimom", body=b"<CIM/>", headers={"Authorization": f"Basic {credentials}"})
    assert conn.getresponse().status == 429
    conn.close()


def test_sign_out_and_a_removed_user_end_the_session(web_server: LiveServer, tmp_path) -> None:
    admin = signed_in(web_server.port, "alice")
    # A foreign page cannot sign the user out: sign-out needs the token too.
    assert admin.post("/ui/logout", {}, token=False).status == 403
    assert admin.get("/ui/vms").status == 200
    assert admin.post("/ui/logout", {}).status == 303
    assert admin.get("/ui/vms").status == 303
    reader = signed_in(web_server.port, "rita")
    users = UsersFile(web_server.data_dir / "users.json")
    users.remove("rita")
    try:
        assert reader.get("/ui/vms").status == 303
    finally:
        write_users(web_server.data_dir / "users.json")


def test_the_cookie_is_httponly_and_samesite_and_sign_in_never_redirects_away(web_server: LiveServer) -> None:
    client = WebClient(web_server.port, origin=f"http://127.0.0.1:{web_server.port}")
    answer = client.post("/ui/login", {"user": "alice", "password": PASSWORDS["alice"], "next": "//evil.example/x"})
    assert answer.status == 303 and answer.headers["location"] == "/ui/vms"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/ui" in cookie
    foreign = WebClient(web_server.port, origin="https://evil.example")
    assert foreign.post("/ui/login", {"user": "alice", "password": PASSWORDS["alice"]}).status == 403
    page = signed_in(web_server.port, "alice").get("/ui/vms")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert not re.search(r"<script(?![^>]*src=\"/ui/static/)", page.body), "inline or foreign script in a page"


def test_an_open_event_stream_ends_when_its_session_signs_out(web_server: LiveServer, vm: str) -> None:
    admin = signed_in(web_server.port, "alice")
    conn = http.client.HTTPConnection("127.0.0.1", web_server.port, timeout=60)
    conn.request("GET", "/ui/events", headers={"Cookie": admin.cookie or ""})
    response = conn.getresponse()
    assert response.status == 200
    assert admin.post("/ui/logout", {}).status == 303
    path = pywbem.CIMInstanceName(CS, {"CreationClassName": CS, "Name": vm}, namespace="root/virtualization/v2")
    cim(web_server).InvokeMethod("RequestStateChange", path, RequestedState=pywbem.Uint16(2))
    rest = response.read()  # returns only when the server ends the stream
    assert b"event: vm" not in rest
    conn.close()
    wait_until(lambda: vm_state(web_server, vm) == 2, "the VM runs")
    cim(web_server).InvokeMethod("RequestStateChange", path, RequestedState=pywbem.Uint16(3))
    wait_until(lambda: vm_state(web_server, vm) == 3, "the VM is off")
