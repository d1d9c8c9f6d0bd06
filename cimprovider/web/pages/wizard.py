"""The New Virtual Machine wizard, with Hyper-V Manager's steps. Each step
posts the whole form back; the server checks the step, then shows the
next one with the answers so far carried along. Finish makes the VM and
lands on its page, where it can be started."""

from __future__ import annotations

from pathlib import Path

from cimprovider.web.cim import ActionFailed
from cimprovider.web.console import Console
from cimprovider.web.create import NewVM, define_vm
from cimprovider.web.exchange import Request, Response, redirect
from cimprovider.web.hardware import SWITCH
from cimprovider.web.storage_files import DISK_SUFFIXES, ISO_SUFFIXES, files_with, inside

STEPS = ("Name and generation", "Memory", "Processors", "Networking", "Virtual hard disk",
         "Installation options", "Summary")
DEFAULTS = {"name": "New Virtual Machine", "generation": "2", "memory": "1024", "dynamic": "", "processors": "1",
            "switch": "", "disk": "new", "disk_name": "", "disk_root": "", "disk_size": "127", "disk_file": "",
            "media": "later", "iso": ""}
MAX_MEMORY_MB = 12 * 1024 * 1024


def answers(request: Request) -> dict[str, str]:
    given = {key: request.field(key, DEFAULTS[key]) for key in DEFAULTS}
    if request.method == "POST":
        given["dynamic"] = request.field("dynamic")
    return given


def _number(text: str, what: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ActionFailed(f"{what} must be a whole number") from None
    if not low <= value <= high:
        raise ActionFailed(f"{what} must be between {low} and {high}")
    return value


def check_step(step: int, given: dict[str, str], console: Console) -> None:
    """Refuse what Hyper-V's wizard refuses at this step."""
    if step == 0:
        if not given["name"].strip():
            raise ActionFailed("Name: a virtual machine needs a name")
        if given["generation"] not in ("1", "2"):
            raise ActionFailed("Generation: choose generation 1 or 2")
    elif step == 1:
        memory = _number(given["memory"], "Startup memory (MB)", 32, MAX_MEMORY_MB)
        if memory % 2:
            raise ActionFailed("Startup memory (MB) must be a multiple of 2 MB")
    elif step == 2:
        _number(given["processors"], "Number of virtual processors", 1, 240)
    elif step == 4:
        if given["disk"] == "new":
            if not given["disk_name"].strip() or "/" in given["disk_name"] or given["disk_name"].startswith("."):
                raise ActionFailed("Name of the new disk: a file name without folders")
            if not given["disk_name"].lower().endswith((".vhdx", ".vhd")):
                raise ActionFailed("Name of the new disk must end in .vhdx or .vhd")
            if _root(given["disk_root"], console) is None:
                raise ActionFailed("Location: choose one of the storage roots")
            _number(given["disk_size"], "Size (GB)", 1, 65536)
        elif given["disk"] == "existing" and inside(Path(given["disk_file"]), console.storage_roots) is None:
            raise ActionFailed("Existing virtual hard disk: choose a file from the storage roots")
    elif step == 5 and given["media"] == "iso" and inside(Path(given["iso"]), console.storage_roots) is None:
        raise ActionFailed("Image file (.iso): choose one from the storage roots")


def _root(text: str, console: Console) -> Path | None:
    return next((r for r in console.storage_roots if str(r) == text), None)


def spec_of(given: dict[str, str], console: Console) -> NewVM:
    root = _root(given["disk_root"], console)
    return NewVM(
        name=given["name"].strip(), generation=int(given["generation"]), memory_mb=int(given["memory"]),
        dynamic_memory=bool(given["dynamic"]), processors=int(given["processors"]), switch=given["switch"],
        disk=given["disk"], new_disk_path=str(root / given["disk_name"].strip()) if root else "",
        new_disk_gb=int(given["disk_size"] or 0), existing_disk=given["disk_file"],
        media=given["iso"] if given["media"] == "iso" else "")


def wizard(console: Console, request: Request) -> Response:
    given = answers(request)
    step, error = 0, ""
    if request.method == "POST":
        step = _number(request.field("step", "0"), "step", 0, len(STEPS) - 1)
        go = request.field("go", "next")
        try:
            if go == "back":
                step = max(0, step - 1)
            elif go == "finish":
                _name_new_disk(given)
                for number in range(len(STEPS) - 1):
                    check_step(number, given, console)
                guid = define_vm(console.client(request), spec_of(given, console))
                return redirect(f"/ui/vms/{guid}?created=1")
            else:
                check_step(step, given, console)
                step = min(step + 1, len(STEPS) - 1)
                if step == 4:
                    _name_new_disk(given)
        except ActionFailed as failure:
            error = str(failure)
    return _page(console, request, step, given, error)


def _name_new_disk(given: dict[str, str]) -> None:
    """As Hyper-V's wizard: the new disk is named after the VM unless named."""
    if not given["disk_name"]:
        given["disk_name"] = f"{given['name'].strip() or 'disk'}.vhdx"


def _page(console: Console, request: Request, step: int, given: dict[str, str], error: str) -> Response:
    client = console.client(request)
    try:
        switches = sorted(str(s.get("ElementName")) for s in client.enumerate(SWITCH))
    except ActionFailed as failure:
        switches, error = [], error or str(failure)
    roots = [str(r) for r in console.storage_roots]
    if not given["disk_root"] and roots:
        given["disk_root"] = roots[0]
    return console.render(
        request, "wizard.html", status=422 if error else 200, steps=STEPS, step=step, given=given, error=error,
        switches=switches, roots=roots, disks=[str(p) for p in files_with(console.storage_roots, DISK_SUFFIXES)],
        isos=[str(p) for p in files_with(console.storage_roots, ISO_SUFFIXES)])
