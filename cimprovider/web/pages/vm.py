"""A VM's page: its live state and figures, the power actions, its
settings, checkpoints, jobs and metrics, and the place of its console.
Actions answer with a fragment (htmx puts it in the page): what was done,
or the error a CIM client would get, in words."""

from __future__ import annotations

from collections.abc import Callable

from cimprovider.web import actions, snapshots
from cimprovider.web.cim import ActionFailed, CIMClient
from cimprovider.web.console import Console
from cimprovider.web.exchange import Request, Response, redirect
from cimprovider.web.hardware import SWITCH, read_hardware
from cimprovider.web.jobs import vm_jobs
from cimprovider.web.machines import list_vms, service, vm_path
from cimprovider.web.metrics import vm_charts
from cimprovider.web.pages.outcome import act, outcome
from cimprovider.web.storage_files import DISK_SUFFIXES, ISO_SUFFIXES, files_with
from cimprovider.web.vm_console.page import console_elements

GUID = r"(?P<guid>[0-9A-Fa-f-]{36})"
# Which actions each state offers, as Hyper-V Manager's Actions pane does.
OFFERED = {2: ("turnoff", "shutdown", "save", "pause", "reset"), 3: ("start",), 6: ("start", "turnoff"),
           9: ("resume", "turnoff", "save")}
LABELS = {"start": "Start", "shutdown": "Shut down", "turnoff": "Turn off", "save": "Save", "pause": "Pause",
          "resume": "Resume", "reset": "Reset"}
# Where data may be lost, the browser asks first.
CONFIRM = {"turnoff": "Turn off {name}? Unsaved work in the guest is lost, as when pulling the plug.",
           "reset": "Reset {name}? Unsaved work in the guest is lost.",
           "shutdown": "Shut down {name}? Programs in the guest are closed.",
           "delete": "Delete {name}? Its configuration and checkpoints are removed for good; "
                     "its virtual hard disk files are kept."}


def vm_page(console: Console, request: Request, guid: str) -> Response:
    client = console.client(request)
    rows = list_vms(client, only=guid)
    if not rows:
        return console.render(request, "missing.html", status=404, what=f"virtual machine {guid}")
    row = rows[0]
    try:
        hardware, error = read_hardware(client, guid), ""
    except ActionFailed as failure:
        hardware, error = None, str(failure)
    try:
        tree = snapshots.checkpoints(client, guid)
    except ActionFailed as failure:
        tree, error = [], error or str(failure)
    return console.render(
        request, "vm.html", row=row, rows=[row], guid=row.guid, hardware=hardware, checkpoints=tree,
        jobs=vm_jobs(client, guid), charts=vm_charts(client, guid), error=error,
        offered=OFFERED.get(row.state, ()), labels=LABELS, confirm=CONFIRM, created=request.arg("created") == "1",
        console_elements=console_elements(row.guid, heading_level=3),
        switch_names=sorted(str(s.get("ElementName")) for s in client.enumerate(SWITCH)),
        storage_files=[str(p) for p in files_with(console.storage_roots, DISK_SUFFIXES + ISO_SUFFIXES)])


def power(console: Console, request: Request, guid: str) -> Response:
    action = request.field("action")
    return act(console, request, lambda client: actions.power(client, guid, action))


def delete(console: Console, request: Request, guid: str) -> Response:
    """DestroySystem, as Hyper-V Manager's Delete; then the VM list (htmx
    follows HX-Redirect with a page load, as the VM's page is gone)."""
    client = console.client(request)
    try:
        client.call(service(client), "DestroySystem", "Delete", AffectedSystem=vm_path(guid))
    except ActionFailed as failure:
        return outcome(console, request, str(failure), False)
    return redirect("/ui/vms", htmx=request.htmx)


def checkpoint_create(console: Console, request: Request, guid: str) -> Response:
    return _checkpoint_change(console, request, guid, lambda c: snapshots.create(c, guid), "Checkpoint created")


def checkpoint_change(console: Console, request: Request, guid: str) -> Response:
    target, action = request.field("checkpoint"), request.field("action")

    def change(client: CIMClient) -> None:
        if action == "apply":
            snapshots.apply(client, guid, target)
        elif action == "rename":
            snapshots.rename(client, guid, target, request.field("name"))
        elif action in ("delete", "delete-subtree"):
            snapshots.delete(client, guid, target, action == "delete-subtree")
        else:
            raise ActionFailed(f"no checkpoint action {action!r}")

    done = {"apply": "Checkpoint applied", "rename": "Checkpoint renamed", "delete": "Checkpoint deleted",
            "delete-subtree": "Checkpoint subtree deleted"}.get(action, "")
    return _checkpoint_change(console, request, guid, change, done)


def _checkpoint_change(console: Console, request: Request, guid: str, change: Callable[[CIMClient], None],
                       done: str) -> Response:
    """The checkpoint section again, with what happened above it."""
    client = console.client(request)
    message, ok = done, True
    try:
        change(client)
    except ActionFailed as failure:
        message, ok = str(failure), False
    request.said = (message, ok)
    tree = snapshots.checkpoints(client, guid)
    html = console.env.get_template("_checkpoints.html").render(
        checkpoints=tree, guid=guid, csrf_token=request.session.csrf_token, message=message, ok=ok)
    return Response(200, html)


def jobs_fragment(console: Console, request: Request, guid: str) -> Response:
    html = console.env.get_template("_jobs.html").render(jobs=vm_jobs(console.client(request), guid), guid=guid)
    return Response(200, html)
