"""The console's changes without htmx: with scripts off (or a click before
htmx has loaded) every action form still posts, to its own route, and the
browser lands back on the page it came from with the outcome shown; the
CSRF token never travels in a URL (history, logs, Referer). And no change
is ever accepted over GET: every change route refuses it (405) and
nothing changes."""

from __future__ import annotations

import re

import pywbem
from playwright.sync_api import Browser, Request as BrowserRequest, expect

from tests.integration.web.browserless import TOKEN, signed_in
from tests.integration.web.conftest import PASSWORDS
from tests.integration.web.test_pages import make_vm
from tests.integration.web.test_security import cim, vm_state
from tests.support.live import LiveServer
from tests.support.waiting import wait_until

DEADLINE_MS = 60_000
CS = "Msvm_ComputerSystem"
expect.set_options(timeout=DEADLINE_MS)


def checkpoint_count(server: LiveServer, guid: str) -> int:
    path = pywbem.CIMInstanceName(CS, {"CreationClassName": CS, "Name": guid}, namespace="root/virtualization/v2")
    return len(cim(server).AssociatorNames(path, AssocClass="Msvm_SnapshotOfVirtualSystem"))


def test_with_scripts_off_actions_post_and_the_token_stays_out_of_every_url(
        browser: Browser, browser_name: str, base: str, web_server: LiveServer) -> None:
    guid = make_vm(signed_in(web_server.port, "alice"), f"plain-{browser_name}")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 800})
    # firefox-esr over WebDriver BiDi ignores java_script_enabled (and with its
    # javascript.enabled pref off Playwright cannot act at all), so the page's
    # scripts are also kept from loading: the page as it is before htmx has
    # loaded, the very moment of the fault, in either browser.
    context.route(re.compile(r".*\.m?js(\?.*)?$"), lambda route: route.abort())
    asked: list[BrowserRequest] = []
    context.on("request", lambda request: asked.append(request))
    page = context.new_page()
    page.set_default_timeout(DEADLINE_MS)
    page.goto(f"{base}/ui/vms/{guid}")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill(PASSWORDS["alice"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=f"plain-{browser_name}", exact=True)).to_be_visible()
    token = TOKEN.search(page.content())
    assert token, "the VM page has no form token"

    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Start requested")).to_be_visible()
    assert page.url == f"{base}/ui/vms/{guid}"
    wait_until(lambda: vm_state(web_server, guid) == 2, "the VM runs")

    page.get_by_role("button", name="Checkpoint", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Checkpoint created")).to_be_visible()
    expect(page.get_by_role("tree", name="Checkpoint tree").get_by_role("treeitem")).to_have_count(1)
    assert page.url == f"{base}/ui/vms/{guid}"
    assert checkpoint_count(web_server, guid) == 1

    posts = [r for r in asked if r.method == "POST"]
    assert [r.url for r in posts if "/ui/login" not in r.url] == [
        f"{base}/ui/vms/{guid}/power", f"{base}/ui/vms/{guid}/checkpoints"]
    # Plain form posts, the page's own navigation: nothing of htmx's (scripts are off).
    assert all(r.is_navigation_request() and "hx-request" not in r.headers for r in posts), [
        (r.url, r.is_navigation_request(), r.headers.get("hx-request")) for r in posts]
    leaked = [r.url for r in asked if token.group(1) in r.url or "csrf_token" in r.url]
    assert leaked == [], f"the form token travelled in a URL: {leaked}"
    context.close()


def change_routes() -> list[tuple[str, bool]]:
    """Every change route of the console (with /ui), and whether a page is
    also served there over GET (the wizard's)."""
    from cimprovider.web.pages.vm import GUID
    from cimprovider.web.routes import add_routes

    class Table:
        def __init__(self) -> None:
            self.routes: list[tuple[str, str]] = []
            self.streams: dict = {}

        def route(self, method: str, pattern: str, _handler: object) -> None:
            self.routes.append((method, "/ui" + pattern.replace(GUID, "{guid}")))

    table = Table()
    add_routes(table)  # type: ignore[arg-type]
    pages = {path for method, path in table.routes if method == "GET"}
    changes = [path for method, path in table.routes if method == "POST"] + ["/ui/logout"]
    return [(path, path in pages) for path in changes]


def everything(server: LiveServer) -> list[str]:
    """What a change could touch, read through CIM and the storage folder."""
    conn = cim(server)
    names = sorted(f"{s['InstanceID']}={s['ElementName']}" for s in conn.EnumerateInstances("Msvm_VirtualSystemSettingData"))
    states = sorted(f"{s['Name']}={s['EnabledState']}" for s in conn.EnumerateInstances(CS))
    files = sorted(p.name for p in (server.data_dir / "storage").iterdir())
    return names + states + files


def test_no_change_route_accepts_get_and_nothing_changes(web_server: LiveServer) -> None:
    admin = signed_in(web_server.port, "alice")
    guid = make_vm(admin, "get-proof")
    disk = web_server.data_dir / "storage" / "get-proof.vhdx"
    assert admin.post("/ui/storage/create", {"folder": str(disk.parent), "name": disk.name, "format": "vhdx",
                                             "type": "dynamic", "size": "1"}).status == 200
    before = everything(web_server)
    # What each form would post, with the session's own token: in a query it is still refused.
    asked = {"csrf_token": admin.token or "", "action": "start", "name": "renamed", "startup": "1024",
             "processors": "4", "notes": "x", "folder": str(disk.parent), "path": str(disk), "size": "1",
             "destination": "copy.vhdx", "step": "6", "go": "finish", "generation": "2", "memory": "512",
             "disk": "none", "media": "later", "switch": ""}
    query = "&".join(f"{k}={v}" for k, v in asked.items())
    routes = change_routes()
    assert len(routes) >= 15, routes  # the table read right: at least its fourteen posts and sign-out
    for path, page_too in routes:
        for method in ("GET", "HEAD"):
            answer = admin.request(method, f"{path.format(guid=guid)}?{query}")
            if page_too:  # the wizard's page: shown again, never finished
                assert answer.status == 200, (method, path, answer.status)
            else:
                assert answer.status == 405 and answer.headers["allow"] == "POST", (method, path, answer.status)
    assert everything(web_server) == before
    assert admin.get("/ui/vms").status == 200, "a GET signed the session out"


def test_a_plain_post_lands_back_on_its_page_and_htmx_still_gets_a_fragment(web_server: LiveServer) -> None:
    admin = signed_in(web_server.port, "alice")
    guid = make_vm(admin, "plain-post")
    plain = admin.post(f"/ui/vms/{guid}/settings/processors", {"processors": "2"}, htmx=False)
    assert plain.status == 303 and plain.headers["location"] == f"/ui/vms/{guid}", plain
    page = admin.get(plain.headers["location"])
    assert 'role="status">Processor settings applied</p>' in page.body
    assert "Processor settings applied" not in admin.get(f"/ui/vms/{guid}").body, "the outcome is shown once"
    refused = admin.post(f"/ui/vms/{guid}/settings/processors", {"processors": "many"}, htmx=False)
    assert refused.status == 303
    assert 'role="alert">Processors must be a whole number</p>' in admin.get(refused.headers["location"]).body
    folder = web_server.data_dir / "storage"
    made = admin.post("/ui/storage/create", {"folder": str(folder), "name": "plain.vhdx", "format": "vhdx",
                                             "type": "dynamic", "size": "1"}, htmx=False)
    assert made.status == 303 and made.headers["location"].startswith("/ui/storage?path=")
    assert f"Created {folder / 'plain.vhdx'}" in admin.get(made.headers["location"]).body
    htmx = admin.post(f"/ui/vms/{guid}/settings/processors", {"processors": "1"})
    assert htmx.status == 200 and htmx.body.startswith('<p class="done" role="status">Processor settings applied')
