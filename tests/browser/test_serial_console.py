"""In the browser: the serial console of a running simulated VM, typed into
and read back through the page's text for screen readers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from cimprovider.web.sessions import COOKIE_NAME
from tests.integration.web.console_server import ConsoleServer, console_server

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with console_server(tmp_path_factory.mktemp("browser-console")) as live:
        yield live


@pytest.fixture
def signed_in_page(browser: Browser, server: ConsoleServer) -> Iterator[Callable[[str], Page]]:
    """A page of its own for a user; closed with its consoles after the test."""
    contexts: list[BrowserContext] = []

    def open_page(user: str) -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        context.add_cookies([{"name": COOKIE_NAME, "value": server.cookies[user], "url": server.origin}])
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        return page
    yield open_page
    for context in contexts:
        context.close()


def test_typing_echo_hello_into_the_serial_console(server: ConsoleServer, signed_in_page: Callable[[str], Page]) -> None:
    vm_id = server.running_vm("Browser VM")
    page = signed_in_page("alice")
    page.goto(f"{server.origin}/ui/console/vm/{vm_id}")
    serial = page.get_by_role("region", name="Serial console (COM1)")
    expect(serial.get_by_role("status")).to_have_text("Connected to COM1. Type into the terminal (Escape then Tab leaves it).")
    transcript = serial.get_by_role("log", name="Serial console text")
    expect(transcript).to_contain_text("root@browser-vm:~#")
    serial.get_by_role("group", name="Serial console terminal").click()
    page.keyboard.type("echo hello")
    page.keyboard.press("Enter")
    # The answer, as a line of its own after the command.
    expect(transcript.locator("div").filter(has_text="hello").last).to_have_text("hello")
    expect(transcript).to_contain_text("root@browser-vm:~# echo hello")
    screen = page.get_by_role("region", name="Screen")
    expect(screen.get_by_role("status")).to_contain_text("No screen")


def test_a_reader_sees_the_console_read_only(server: ConsoleServer, signed_in_page: Callable[[str], Page]) -> None:
    vm_id = server.running_vm("Read Only VM")
    page = signed_in_page("rita")
    page.goto(f"{server.origin}/ui/console/vm/{vm_id}")
    serial = page.get_by_role("region", name="Serial console (COM1)")
    expect(serial.get_by_role("status")).to_have_text("Connected, read only: your role (reader) may watch but not type.")
    expect(serial.get_by_role("log", name="Serial console text")).to_contain_text("root@read-only-vm:~#")
    serial.get_by_role("group", name="Serial console terminal").click()
    page.keyboard.type("echo typed-by-a-reader")
    page.keyboard.press("Enter")
    # What the reader typed reaches neither the VM nor the page.
    admin = signed_in_page("alice")
    admin.goto(f"{server.origin}/ui/console/vm/{vm_id}")
    admin_serial = admin.get_by_role("region", name="Serial console (COM1)")
    expect(admin_serial.get_by_role("status")).to_have_text("Connected to COM1. Type into the terminal (Escape then Tab leaves it).")
    admin_serial.get_by_role("group", name="Serial console terminal").click()
    admin.keyboard.type("echo marker")
    admin.keyboard.press("Enter")
    log = serial.get_by_role("log", name="Serial console text")
    expect(log).to_contain_text("root@read-only-vm:~# echo marker")
    assert "typed-by-a-reader" not in log.inner_text()


def test_no_page_without_a_session(server: ConsoleServer, browser: Browser) -> None:
    vm_id = server.running_vm("Private VM")
    page = browser.new_page()
    answer = page.goto(f"{server.origin}/ui/console/vm/{vm_id}")
    assert answer is not None and answer.status == 401
    expect(page.locator("body")).to_contain_text("sign in to use the web console")
    page.close()


def test_the_keyboard_leaves_the_terminal_with_escape_then_tab(server: ConsoleServer, signed_in_page: Callable[[str], Page]) -> None:
    vm_id = server.running_vm("Keyboard VM")
    page = signed_in_page("alice")
    page.goto(f"{server.origin}/ui/console/vm/{vm_id}")
    serial = page.get_by_role("region", name="Serial console (COM1)")
    expect(serial.get_by_role("status")).to_contain_text("Connected to COM1.")
    reconnect = serial.get_by_role("button", name="Reconnect")
    reconnect.focus()
    page.keyboard.press("Tab")  # into the terminal
    page.keyboard.type("echo in-the-terminal")
    page.keyboard.press("Enter")
    transcript = serial.get_by_role("log", name="Serial console text")
    expect(transcript).to_contain_text("echo in-the-terminal")
    page.keyboard.press("Tab")  # the guest's, not the page's
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+Tab")
    expect(reconnect).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    expect(page.get_by_role("region", name="Screen").get_by_role("button").first).not_to_be_visible()
    assert page.evaluate("document.activeElement.closest('.serial-terminal') === null")
