"""Tier 2: a running guest's consoles on real QEMU — its serial console
(COM1, a pty) through libvirt's console stream, and its screen through
VNC handed over by openGraphicsFD, no port open — from the backend and in
the browser through the server's websockets (in chromium and in firefox-esr,
a guest each)."""

from __future__ import annotations

import threading
import time
from uuid import UUID

import libvirt
import pytest
from playwright.sync_api import Browser, expect

from cimprovider.backends.errors import InUseError
from cimprovider.backends.console import ConsoleKind
from cimprovider.schemas import PowerState
from cimprovider.web.sessions import COOKIE_NAME
from qemu_host import BOOT_SECONDS, URI, Host, host, libvirtd_in_use, shared_host  # noqa: F401 (fixtures)
from tests.integration.web.console_server import console_server

# The guest's shell works the sum out: an echo of the typed line would not show it.
COMMAND, ANSWER = "echo cimp-$((6*7))", "cimp-42"
NON_BLANK_PIXELS = """() => {
    const canvas = document.querySelector('[aria-label="VM screen"] canvas');
    // Drawn, and drawn large enough to see (noVNC scales it into its box).
    if (!canvas || !canvas.width || canvas.getBoundingClientRect().height < 200) return 0;
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let lit = 0;
    for (let i = 0; i < pixels.length; i += 4) if (pixels[i] || pixels[i + 1] || pixels[i + 2]) lit++;
    return lit;
}"""


class Terminal:
    def __init__(self) -> None:
        self.text = b""
        self.lock = threading.Lock()

    def output(self, data: bytes) -> None:
        with self.lock:
            self.text += data


def running(host: Host, domain) -> UUID:
    vm_id = UUID(domain.UUIDString())
    domain.create()
    deadline = time.monotonic() + 60
    while host.backend.get_vm(vm_id).power_state is not PowerState.RUNNING:
        assert time.monotonic() < deadline, "the backend did not see the guest running"
        time.sleep(0.2)
    return vm_id


def test_serial_console_and_screen_of_a_booted_guest(host: Host, tmp_path, browser: Browser, browser_name: str) -> None:
    domain = host.define_guest(f"console-{browser_name}", interactive=True)
    vm_id = running(host, domain)
    assert host.backend.console_kinds(vm_id) == {ConsoleKind.SERIAL, ConsoleKind.GRAPHICS}

    # libvirt gives a console to one client: one held elsewhere (virsh console) is left alone.
    elsewhere = host.conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
    domain.openConsole(None, elsewhere, 0)
    with pytest.raises(InUseError, match="cannot open the serial console of VM"):
        host.backend.open_console(vm_id, ConsoleKind.SERIAL)
    elsewhere.abort()

    # The backend's serial console: typed until the guest's shell is up to answer.
    terminal = Terminal()
    stream = host.backend.open_console(vm_id, ConsoleKind.SERIAL)
    stream.start(terminal.output, lambda reason: None)
    deadline = time.monotonic() + BOOT_SECONDS
    while ANSWER.encode() not in terminal.text:
        assert time.monotonic() < deadline, f"no answer on the serial console; it showed {terminal.text[-400:]!r}"
        stream.send(COMMAND.encode() + b"\n")
        time.sleep(2)
    stream.close()

    # The same in the browser, through the server's websockets.
    config = dict(backend="libvirt", libvirt_uri=URI, libvirt_domain_type="qemu", storage_roots=[host.workdir])
    with console_server(tmp_path, **config) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_cookies([{"name": COOKIE_NAME, "value": server.cookies["alice"], "url": server.origin}])
        page = context.new_page()
        page.set_default_timeout(BOOT_SECONDS * 1000)
        page.goto(f"{server.origin}/ui/console/vm/{vm_id}")
        screen = page.get_by_role("region", name="Screen")
        expect(screen.get_by_role("status")).to_have_text("Showing the screen.")
        # The page's policy forbids eval, which wait_for_function needs: poll from here.
        deadline = time.monotonic() + BOOT_SECONDS
        while (lit := page.evaluate(NON_BLANK_PIXELS)) <= 500:
            assert time.monotonic() < deadline, f"the screen shows {lit} lit pixels"
            page.wait_for_timeout(500)
        # A reader sees the same screen (the view-only filter lets noVNC's own messages through).
        reader_context = browser.new_context(viewport={"width": 1280, "height": 800})
        reader_context.add_cookies([{"name": COOKIE_NAME, "value": server.cookies["rita"], "url": server.origin}])
        reader = reader_context.new_page()
        reader.set_default_timeout(BOOT_SECONDS * 1000)
        reader.goto(f"{server.origin}/ui/console/vm/{vm_id}")
        expect(reader.get_by_role("region", name="Screen").get_by_role("status")).to_have_text("Showing the screen, read only (reader role).")
        while (lit := reader.evaluate(NON_BLANK_PIXELS)) <= 500:
            assert time.monotonic() < deadline, f"the reader's screen shows {lit} lit pixels"
            reader.wait_for_timeout(500)
        expect(reader.get_by_role("button", name="Send Ctrl+Alt+Del")).to_be_disabled()
        reader_context.close()
        serial = page.get_by_role("region", name="Serial console (COM1)")
        expect(serial.get_by_role("status")).to_have_text("Connected to COM1. Type into the terminal (Escape then Tab leaves it).")
        serial.get_by_role("group", name="Serial console terminal").click()
        page.keyboard.type("echo browser-$((6*7))")
        page.keyboard.press("Enter")
        expect(serial.get_by_role("log", name="Serial console text")).to_contain_text("browser-42")
        # The guest goes: the page says why its consoles closed.
        domain.destroy()
        expect(serial.get_by_role("status")).to_have_text("Disconnected: the serial console closed: the VM stopped.")
        expect(screen.get_by_role("status")).to_contain_text("Disconnected")
        context.close()
