"""A VM's page draws its charts again from the event stream it already
follows: a VM started elsewhere (by a WBEM client) moves its memory chart
without a reload and without the page asking the server anything."""

from __future__ import annotations

from playwright.sync_api import Browser, Request as BrowserRequest, expect

from tests.integration.web.browserless import signed_in as signed_in_http
from tests.integration.web.test_browser import signed_in
from tests.integration.web.test_browser_manager import set_state
from tests.integration.web.test_pages import make_vm
from tests.support.live import LiveServer

DEADLINE_MS = 60_000
expect.set_options(timeout=DEADLINE_MS)


def test_the_charts_follow_the_event_stream(browser: Browser, browser_name: str, base: str,
                                            web_server: LiveServer) -> None:
    name = f"charted-{browser_name}"
    guid = make_vm(signed_in_http(web_server.port, "alice"), name)
    page = signed_in(browser, base, "rita")
    page.goto(f"{base}/ui/vms/{guid}")
    memory = page.get_by_role("region", name="Metrics").get_by_role("figure").filter(has_text="Memory in use")
    expect(memory).to_contain_text("Memory in use: 0 MB of 512 MB")
    page.evaluate("window.notReloaded = true")
    asked: list[BrowserRequest] = []
    page.on("request", lambda request: asked.append(request))
    set_state(web_server, guid, 2)
    expect(memory).not_to_contain_text("Memory in use: 0 MB")
    expect(memory).to_contain_text("MB of 512 MB")
    assert page.evaluate("window.notReloaded") is True
    # The serial console connects to the running VM; nothing else is asked for.
    assert [r.url for r in asked if not r.url.startswith(f"{base}/ui/console/")] == [], "the page asked for its charts"
    page.context.close()
