"""Hyper-V Manager's panes in real browsers (chromium and firefox-esr),
found by role and name: the hosts with a peer, the wizard's other paths
(dynamic memory, an existing disk, an ISO), the live list's figures and
filters without any polling, the VM page asking before data is lost and
refusing what Hyper-V refuses in the model's words, the checkpoint tree,
jobs, charts, deletion, and the storage pane. One server (with a peer)
for the module; each browser works on VMs and files of its own."""

from __future__ import annotations

import re

import pytest
import pywbem
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.browser.browsers import retype
from tests.integration.web.browserless import WebClient, signed_in as signed_in_http
from tests.integration.web.conftest import PASSWORDS, peers_file, write_users
from tests.integration.web.test_browser import signed_in
from tests.integration.web.test_pages import make_vm
from tests.support.live import LiveServer, in_process_server

DEADLINE_MS = 60_000
expect.set_options(timeout=DEADLINE_MS)
CS = "Msvm_ComputerSystem"


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory):
    """This server ("here"), with a peer that answers and one that does not."""
    data = tmp_path_factory.mktemp("manager")
    with peers_file(data) as peers:
        (data / "here").mkdir()
        users = data / "here" / "users.json"
        write_users(users)
        with in_process_server(data / "here", users_file=users, peers_file=peers, host_name="here") as live:
            yield live


def set_state(server: LiveServer, guid: str, state: int) -> None:
    """A change made by a WBEM client, not by the page."""
    conn = server.connection("root/virtualization/v2", ("alice", PASSWORDS["alice"]))
    path = pywbem.CIMInstanceName(CS, {"CreationClassName": CS, "Name": guid}, namespace="root/virtualization/v2")
    code, _ = conn.InvokeMethod("RequestStateChange", path, RequestedState=pywbem.Uint16(state))
    assert int(code) in (0, 4096)


def running_vm(server: LiveServer, name: str) -> tuple[WebClient, str]:
    """A VM alice made and started over plain HTTP: (her client, its GUID)."""
    admin = signed_in_http(server.port, "alice")
    guid = make_vm(admin, name)
    assert admin.post(f"/ui/vms/{guid}/power", {"action": "start"}).status == 200
    return admin, guid


def row_of(page: Page, name: str):
    return page.get_by_role("table", name="Virtual machines").get_by_role("row").filter(
        has=page.get_by_role("link", name=name, exact=True))


def answer_dialog(page: Page, accept: bool, said: list[str]) -> None:
    def answer(dialog: Dialog) -> None:
        said.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()
    page.once("dialog", answer)


def test_the_hosts_pane_shows_this_server_and_its_peers(browser: Browser, base: str) -> None:
    page = signed_in(browser, base, "rita")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Hosts").click()
    hosts = page.get_by_role("table", name="Hosts")
    here = hosts.get_by_role("row").filter(has=page.get_by_role("rowheader", name="here this server"))
    for shown in ("OK", "running of", re.compile(r"\d+ MB of \d+ MB"), re.compile(r"GB free of [\d.]+ GB")):
        expect(here).to_contain_text(shown)
    peer = hosts.get_by_role("row").filter(has_text="peer-host")
    for shown in ("OK", "0 running of 0", re.compile(r"\d+ MB of \d+ MB"), re.compile(r"GB free of [\d.]+ GB")):
        expect(peer).to_contain_text(shown)
    expect(hosts.get_by_role("row").filter(has_text="gone")).to_contain_text("Unreachable")
    page.context.close()


def test_the_wizard_with_dynamic_memory_an_existing_disk_and_an_iso(browser: Browser, browser_name: str, base: str,
                                                                    web_server: LiveServer) -> None:
    folder = web_server.data_dir / "storage"
    disk, iso = folder / f"old-{browser_name}.vhdx", folder / f"install-{browser_name}.iso"
    made = signed_in_http(web_server.port, "alice").post("/ui/storage/create", {
        "folder": str(folder), "name": disk.name, "format": "vhdx", "type": "dynamic", "size": "1"})
    assert made.status == 200, made.body
    iso.write_bytes(b"\0" * 2048)
    vm = f"wizard-{browser_name}"
    page = signed_in(browser, base, "alice")
    page.get_by_role("link", name="New VM").click()
    page.get_by_label("Name").fill(vm)
    page.get_by_label("Generation 1", exact=False).check()
    page.get_by_role("button", name="Next").click()
    retype(page.get_by_label("Startup memory (MB)"), "1024")
    page.get_by_label("Use Dynamic Memory").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()  # one processor
    page.get_by_label("Connection").select_option("Default Switch")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Use an existing virtual hard disk").check()
    page.get_by_label("Existing virtual hard disk", exact=True).select_option(str(disk))
    page.get_by_role("button", name="Next").click()
    page.get_by_label("from a bootable image file", exact=False).check()
    page.get_by_label("Image file (.iso)").select_option(str(iso))
    page.get_by_role("button", name="Next").click()
    summary = page.get_by_role("main")
    for shown in ("1024 MB (Dynamic Memory)", str(disk), f"From {iso}", "Default Switch"):
        expect(summary).to_contain_text(shown)
    page.get_by_role("button", name="Finish").click()
    expect(page.get_by_role("heading", name=vm, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Start", exact=True)).to_be_enabled()
    expect(page.get_by_label("Enable Dynamic Memory")).to_be_checked()
    drives = page.get_by_role("group", name="Drives")
    expect(drives).to_contain_text(f"Hard drive on IDE 0 slot 0: {disk}")
    expect(drives).to_contain_text(f"DVD drive on IDE 1 slot 0: {iso}")
    page.context.close()


def test_the_list_shows_figures_follows_the_bus_without_polling_and_filters(
        browser: Browser, browser_name: str, base: str, web_server: LiveServer) -> None:
    vm = f"figures-{browser_name}"
    admin, guid = running_vm(web_server, vm)
    page = signed_in(browser, base, "rita")
    row = row_of(page, vm)
    # The figures of a running VM: CPU, memory, uptime, heartbeat, address.
    expect(row.get_by_role("cell").nth(0)).to_have_text("Running")
    expect(row).to_contain_text(re.compile(r"\d+ %"))
    expect(row).to_contain_text("512 MB")
    expect(row).to_contain_text(re.compile(r"\d+:\d\d:\d\d"))
    expect(row).to_contain_text("OK")
    expect(row).to_contain_text(re.compile(r"10\.\d+\.\d+\.\d+"))
    # Changed by a WBEM client, the row follows with no request from the page.
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    set_state(web_server, guid, 9)
    expect(row.get_by_role("cell").nth(0)).to_have_text("Paused")
    set_state(web_server, guid, 2)
    expect(row.get_by_role("cell").nth(0)).to_have_text("Running")
    # A VM made elsewhere joins the list; deleted, it leaves it.
    arrival = make_vm(admin, f"arrives-{browser_name}")
    expect(row_of(page, f"arrives-{browser_name}")).to_have_count(1)
    assert admin.post(f"/ui/vms/{arrival}/delete", {}, htmx=False).status == 303
    expect(row_of(page, f"arrives-{browser_name}")).to_have_count(0)
    assert asked == [], asked
    # Filters: by state, then by name.
    page.get_by_label("State").select_option("Off")
    expect(row).to_have_count(0)
    page.get_by_label("State").select_option("Running")
    expect(row).to_have_count(1)
    page.get_by_label("Search").fill(f"figures-{browser_name}")
    expect(page.get_by_role("table", name="Virtual machines").get_by_role("link")).to_have_count(1)
    page.context.close()
    set_state(web_server, guid, 3)


def test_the_vm_page_asks_before_data_is_lost_and_refuses_what_hyperv_refuses(
        browser: Browser, browser_name: str, base: str, web_server: LiveServer) -> None:
    vm = f"guarded-{browser_name}"
    guid = running_vm(web_server, vm)[1]
    page = signed_in(browser, base, "alice")
    row_of(page, vm).get_by_role("link", name=vm).click()
    page.wait_for_load_state()  # htmx readies the forms as the page loads
    status = page.get_by_role("table", name=f"Status of {vm}")
    expect(status.get_by_text("Running", exact=True)).to_be_visible()
    # Turn off, dismissed: the browser asked, and nothing was sent.
    said: list[str] = []
    posted: list[str] = []
    page.on("request", lambda request: posted.append(request.url) if request.method == "POST" else None)
    answer_dialog(page, False, said)
    page.get_by_role("button", name="Turn off").click()
    # Settings the model refuses while the VM runs, in its words.
    outcome = page.get_by_role("region", name="Settings").get_by_role("alert")
    retype(page.get_by_label("Startup RAM (MB)"), "1024")
    page.get_by_role("button", name="Apply memory").click()
    expect(outcome).to_contain_text(re.compile(r"^Memory: cannot .* while the VM is running.*32775 \(invalid state"))
    # The one change sent so far is this one: the dismissed turn-off never left.
    assert said and "Unsaved work in the guest is lost" in said[0]
    assert [url.split("/ui")[1] for url in posted] == [f"/vms/{guid}/settings/memory"], posted
    retype(page.get_by_label("Number of virtual processors"), "2")
    page.get_by_role("button", name="Apply processors").click()
    expect(outcome).to_contain_text(re.compile(r"^Processors: cannot .* while the VM is running.*32775 \(invalid state"))
    # Reset asks too; accepted, it is done.
    answer_dialog(page, True, said)
    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_role("status").filter(has_text="Reset requested")).to_be_visible()
    assert "Reset" in said[-1] and "lost" in said[-1]
    # The start's job, with its progress bar; the charts, named.
    expect(page.get_by_role("list", name="Jobs").get_by_role("progressbar").first).to_be_visible()
    expect(page.get_by_role("img", name="Processor load history", exact=False)).to_be_visible()
    expect(page.get_by_role("img", name="Memory in use", exact=False)).to_be_visible()
    # Checkpoints: a chain of three, renamed, a subtree deleted, the last deleted.
    for count in (1, 2, 3):
        page.get_by_role("button", name="Checkpoint", exact=True).click()
        expect(page.get_by_role("treeitem")).to_have_count(count)
    items = page.get_by_role("tree", name="Checkpoint tree").get_by_role("treeitem")
    first = items.first
    renamed = first.get_by_role("textbox").first
    retype(renamed, "base install")
    first.get_by_role("button", name="Rename", exact=False).first.click()
    expect(page.get_by_role("status").filter(has_text="Checkpoint renamed")).to_be_visible()
    expect(page.get_by_role("treeitem", name="base install", exact=False)).to_have_count(1)
    answer_dialog(page, True, said)
    items.nth(1).get_by_role("button", name="Delete subtree", exact=False).first.click()
    expect(page.get_by_role("status").filter(has_text="Checkpoint subtree deleted")).to_be_visible()
    expect(items).to_have_count(1)
    answer_dialog(page, True, said)
    page.get_by_role("button", name="Delete base install").click()
    expect(page.get_by_role("status").filter(has_text="Checkpoint deleted")).to_be_visible()
    assert said[-1] == "Delete checkpoint base install?"
    expect(page.get_by_text("No checkpoints.")).to_be_visible()
    # Delete the VM: asked first; refused while it runs, in the model's words.
    answer_dialog(page, True, said)
    page.get_by_role("button", name="Delete", exact=True).click()
    actions = page.get_by_role("region", name="Actions")
    expect(actions.get_by_role("alert")).to_contain_text("cannot destroy a VM that is running; turn it off first")
    answer_dialog(page, True, said)
    page.get_by_role("button", name="Turn off").click()
    expect(status.get_by_text("Off", exact=True)).to_be_visible()
    # Off, it goes, and the list comes back without it.
    answer_dialog(page, True, said)
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("heading", name="Virtual machines on", exact=False)).to_be_visible()
    assert said[-1].startswith(f"Delete {vm}?") and "kept" in said[-1]
    expect(row_of(page, vm)).to_have_count(0)
    page.context.close()


def test_the_storage_pane_browses_makes_inspects_converts_and_compacts(
        browser: Browser, browser_name: str, base: str, web_server: LiveServer) -> None:
    folder = web_server.data_dir / "storage"
    name = f"pane-{browser_name}.vhdx"
    page = signed_in(browser, base, "alice")
    page.get_by_role("link", name="Storage").click()
    page.get_by_role("navigation", name="Storage roots").get_by_role("link", name=str(folder)).click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name=str(folder))).to_be_visible()
    new = page.get_by_role("group", name=f"New virtual hard disk in {folder}")
    retype(new.get_by_label("Name"), name)
    new.get_by_label("Type").select_option("Dynamically expanding")
    retype(new.get_by_label("Size (GB)"), "2")
    new.get_by_role("button", name="Create disk").click()
    expect(page.get_by_role("status")).to_have_text(f"Created {folder / name}")
    files = page.get_by_role("table", name=f"Files in {folder}")
    expect(files.get_by_role("rowheader", name=name)).to_be_visible()  # listed without a reload
    files.get_by_role("button", name=f"Inspect {name}").click()
    disk = page.get_by_role("definition")
    expect(page.get_by_label("Virtual hard disk")).to_contain_text("Dynamically expanding")
    expect(disk.filter(has_text="2.0 GB")).to_have_count(1)
    copy = name.replace(".vhdx", ".vhd")
    files.get_by_label(f"Convert {name} to").fill(copy)
    files.get_by_label(f"Format for the copy of {name}").select_option("VHD")
    files.get_by_role("button", name=f"Convert {name}").click()
    expect(page.get_by_role("status")).to_have_text(f"Converted to {folder / copy}")
    # VHD and VHDX disks compact (the image service's rule), each from its own row.
    files.get_by_role("button", name=f"Compact {name}", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"Compacted {folder / name}")
    files.get_by_role("button", name=f"Compact {copy}", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"Compacted {folder / copy}")
    # The pane at a phone's width: nothing scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the storage pane scrolls sideways at phone width ({width} px)"
    page.context.close()


def test_a_vm_page_fits_a_phone_and_1280_wide(browser: Browser, browser_name: str, base: str,
                                              web_server: LiveServer) -> None:
    guid = make_vm(signed_in_http(web_server.port, "alice"), f"narrow-{browser_name}")
    page = signed_in(browser, base, "rita")
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{base}/ui/vms/{guid}")
        expect(page.get_by_role("button", name="Start", exact=True)).to_be_visible()
        scrolled = page.evaluate("document.documentElement.scrollWidth")
        assert scrolled <= width, f"the VM page scrolls sideways at {width} px ({scrolled} px)"
    page.context.close()




def test_the_wizard_with_the_keyboard_alone(browser: Browser, browser_name: str, base: str) -> None:
    """Enter moves on, as in Hyper-V's wizard, from any step's field."""
    vm = f"typed-{browser_name}"
    page = signed_in(browser, base, "alice")
    page.goto(f"{base}/ui/vms/new")
    expect(page.get_by_label("Name")).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type(vm)
    page.keyboard.press("Tab")  # into the generation choice, on generation 2
    page.keyboard.press("ArrowUp")
    expect(page.get_by_label("Generation 1", exact=False)).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Memory")).to_be_visible()
    expect(page.get_by_label("Startup memory (MB)")).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type("256")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Processors")).to_be_visible()
    # A key pressed before the browser has applied autofocus starts from the
    # page's top, as it would for a person typing that fast: wait for it.
    expect(page.get_by_label("Number of virtual processors")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Networking")).to_be_visible()
    expect(page.get_by_label("Connection")).to_be_focused()
    page.keyboard.press("Tab")  # from the switch to the buttons
    expect(page.get_by_role("button", name="Previous")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Processors")).to_be_visible()
    page.context.close()


def test_the_settings_dialog_edits_services_adapters_and_notes(browser: Browser, browser_name: str, base: str,
                                                              web_server: LiveServer) -> None:
    guid = make_vm(signed_in_http(web_server.port, "alice"), f"edited-{browser_name}")
    page = signed_in(browser, base, "alice")
    page.goto(f"{base}/ui/vms/{guid}")
    settings = page.get_by_role("region", name="Settings")
    done = settings.get_by_role("status")
    services = settings.get_by_role("group", name="Integration services")
    services.get_by_label("Heartbeat").uncheck()
    services.get_by_role("button", name="Apply integration services").click()
    expect(done).to_have_text("Integration services applied")
    adapters = settings.get_by_role("group", name="Network adapters")
    adapters.get_by_label("Virtual switch for a new adapter").select_option("Default Switch")
    adapters.get_by_role("button", name="Add network adapter").click()
    expect(done).to_have_text("Network adapter added")
    notes = settings.get_by_role("group", name="Name and notes")
    notes.get_by_label("Notes").fill("patched on Tuesday")
    notes.get_by_role("button", name="Apply name and notes").click()
    expect(done).to_have_text("Name and notes applied")
    page.reload()
    expect(services.get_by_label("Heartbeat")).not_to_be_checked()
    expect(services.get_by_label("Shutdown")).to_be_checked()
    expect(adapters.get_by_role("listitem").filter(has_text="Default Switch")).to_have_count(2)
    expect(notes.get_by_label("Notes")).to_have_value("patched on Tuesday")
    page.context.close()
