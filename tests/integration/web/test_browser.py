"""The console in real browsers (Debian's chromium and firefox-esr, driven
by Playwright; tests/browser/browsers.py),
found by role and name as a screen reader finds things: sign in, make a VM
with the wizard, start it and see its state change without a reload, take
and apply a checkpoint, and a reader refused."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.browser.browsers import retype
from tests.integration.web.conftest import PASSWORDS

DEADLINE_MS = 60_000
expect.set_options(timeout=DEADLINE_MS)


def signed_in(browser: Browser, base: str, user: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.set_default_timeout(DEADLINE_MS)
    page.goto(f"{base}/ui/")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORDS[user])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Virtual machines on", exact=False)).to_be_visible()
    return page


def status_cell(page: Page, name: str, state: str):
    return page.get_by_role("table", name=f"Status of {name}").get_by_text(state, exact=True)


def create_vm(page: Page, name: str) -> None:
    page.get_by_role("link", name="New VM").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Generation 2", exact=False).check()
    page.get_by_role("button", name="Next").click()
    retype(page.get_by_label("Startup memory (MB)"), "512")
    page.get_by_role("button", name="Next").click()
    retype(page.get_by_label("Number of virtual processors"), "2")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Connection").select_option("Default Switch")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Create a virtual hard disk").check()
    retype(page.get_by_label("Size (GB)"), "1")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Install an operating system later").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Summary")).to_be_visible()
    page.get_by_role("button", name="Finish").click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def test_an_admin_makes_starts_and_checkpoints_a_vm_and_a_reader_is_refused(browser: Browser, browser_name: str,
                                                                           base: str) -> None:
    # Both browsers share the server: each makes a VM of its own.
    vm = f"browser-vm-{browser_name}"
    page = signed_in(browser, base, "alice")
    create_vm(page, vm)
    expect(page.get_by_role("status").filter(has_text="was created")).to_be_visible()
    expect(status_cell(page, vm, "Off")).to_be_visible()
    # A mark on the window survives only if the page is never reloaded.
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Start", exact=True).click()
    expect(status_cell(page, vm, "Running")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True

    page.get_by_role("button", name="Checkpoint", exact=True).click()
    tree = page.get_by_role("tree", name="Checkpoint tree")
    expect(tree.get_by_role("treeitem")).to_have_count(1)
    asked: list[str] = []  # what the browser asked before each change that loses data
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Turn off").click()
    expect(status_cell(page, vm, "Off")).to_be_visible()
    assert asked == [f"Turn off {vm}? Unsaved work in the guest is lost, as when pulling the plug."]
    # Change a setting after the checkpoint; applying it brings the old one back.
    retype(page.get_by_label("Startup RAM (MB)"), "1024")
    page.get_by_role("button", name="Apply memory").click()
    expect(page.get_by_role("status").filter(has_text="Memory settings applied")).to_be_visible()
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    tree.get_by_role("button", name="Apply", exact=False).click()
    expect(page.get_by_role("status").filter(has_text="Checkpoint applied")).to_be_visible()
    assert len(asked) == 2 and asked[1].startswith("Apply checkpoint") and "is lost" in asked[1]
    assert page.evaluate("window.notReloaded") is True
    page.reload()
    expect(page.get_by_label("Startup RAM (MB)")).to_have_value("512")

    reader = signed_in(browser, base, "rita")
    expect(reader.get_by_role("note")).to_contain_text("reader")
    reader.get_by_role("link", name=vm).click()
    reader.wait_for_load_state()  # htmx readies the forms as the page loads; a click before would post plainly
    reader.get_by_role("button", name="Start", exact=True).click()
    expect(reader.get_by_role("alert")).to_contain_text("may look but not change")
    expect(status_cell(reader, vm, "Off")).to_be_visible()


def test_the_vm_list_follows_state_changes_live(browser: Browser, browser_name: str, base: str) -> None:
    vm = f"listed-vm-{browser_name}"
    admin = signed_in(browser, base, "alice")
    create_vm(admin, vm)
    watcher = signed_in(browser, base, "rita")
    row = watcher.get_by_role("row").filter(has=watcher.get_by_role("link", name=vm))
    expect(row.get_by_text("Off", exact=True)).to_be_visible()
    admin.get_by_role("button", name="Start", exact=True).click()
    expect(row.get_by_text("Running", exact=True)).to_be_visible()
    watcher.get_by_label("Search").fill("no-such-vm")
    expect(watcher.get_by_text("No virtual machines match")).to_be_visible()


def test_phone_width_shows_rows_as_cards(browser: Browser, base: str) -> None:
    page = signed_in(browser, base, "rita")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("getComputedStyle(document.querySelector('table.vms thead')).display") == "none"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width} px)"


def test_sign_in_with_the_keyboard_alone_and_dark_colours(browser: Browser, dark_browser: Browser, base: str) -> None:
    context = dark_browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="dark")
    page = context.new_page()
    page.set_default_timeout(DEADLINE_MS)
    page.goto(f"{base}/ui/hosts")
    expect(page.get_by_label("User name")).to_be_focused()
    page.keyboard.type("rita")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORDS["rita"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Hosts")).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Hosts"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(21, 23, 26)", background
    light = browser.new_context(color_scheme="light").new_page()
    light.goto(f"{base}/ui/login")
    assert light.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(253, 253, 253)"
    context.close()
