"""The console in the VM's page: the VM is started with the page's Start
button, and its serial console connects by itself when the server's event
stream says the VM runs; typed into, it answers."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from cimprovider.schemas import SystemSettings
from cimprovider.web.sessions import COOKIE_NAME
from tests.integration.web.console_server import console_server

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with console_server(tmp_path_factory.mktemp("vm-page-console")) as live:
        yield live


def test_start_then_type_into_the_serial_console_in_the_vm_page(server, browser: Browser, browser_name: str) -> None:
    vm = server.backend.define_vm(SystemSettings(name=f"Page VM {browser_name}"))
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies([{"name": COOKIE_NAME, "value": server.cookies["alice"], "url": server.origin}])
    # What the page's policy blocks, as the page itself learns it: both
    # browsers fire the event (only chromium says so on the console).
    context.add_init_script("window.blocked = [];"
                            "document.addEventListener('securitypolicyviolation', e => window.blocked.push(e.violatedDirective))")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{server.origin}/ui/vms/{str(vm.id).upper()}")
    console = page.get_by_role("region", name="Console", exact=True)
    serial = console.get_by_role("region", name="Serial console (COM1)")
    expect(serial.get_by_role("status")).to_contain_text("is off")
    page.get_by_role("button", name="Start", exact=True).click()
    expect(serial.get_by_role("status")).to_have_text("Connected to COM1. Type into the terminal (Escape then Tab leaves it).")
    serial.get_by_role("group", name="Serial console terminal").click()
    page.keyboard.type("echo hello")
    page.keyboard.press("Enter")
    transcript = serial.get_by_role("log", name="Serial console text")
    expect(transcript.locator("div").filter(has_text="hello").last).to_have_text("hello")
    expect(console.get_by_role("region", name="Screen").get_by_role("status")).to_contain_text("No screen")
    assert page.evaluate("window.blocked") == []
    context.close()
