"""The console's pages and where they are: one table, so what exists can
be read at a glance. Paths are below /ui."""

from __future__ import annotations

from cimprovider.web.app import WebApplication
from cimprovider.web.exchange import Request, Response, redirect
from cimprovider.web.live import event_stream
from cimprovider.web.pages import hosts, settings, storage, vm, vms, wizard

G = vm.GUID


def home(_console: object, _request: Request) -> Response:
    return redirect("/ui/vms")


def add_routes(app: WebApplication) -> None:
    table = [
        ("GET", "/", home),
        ("GET", "/hosts", hosts.hosts),
        ("GET", "/vms", vms.vm_list),
        ("GET", "/vms/new", wizard.wizard),
        ("POST", "/vms/new", wizard.wizard),
        ("GET", f"/vms/{G}", vm.vm_page),
        ("GET", f"/vms/{G}/jobs", vm.jobs_fragment),
        ("POST", f"/vms/{G}/power", vm.power),
        ("POST", f"/vms/{G}/delete", vm.delete),
        ("POST", f"/vms/{G}/checkpoints", vm.checkpoint_create),
        ("POST", f"/vms/{G}/checkpoints/change", vm.checkpoint_change),
        ("POST", f"/vms/{G}/settings/memory", settings.memory),
        ("POST", f"/vms/{G}/settings/processors", settings.processors),
        ("POST", f"/vms/{G}/settings/notes", settings.notes),
        ("POST", f"/vms/{G}/settings/drives", settings.drives),
        ("POST", f"/vms/{G}/settings/adapters", settings.adapters),
        ("POST", f"/vms/{G}/settings/integration", settings.integration),
        ("GET", "/storage", storage.browse),
        ("GET", "/storage/inspect", storage.inspect),
        ("POST", "/storage/create", storage.create),
        ("POST", "/storage/convert", storage.convert),
        ("POST", "/storage/compact", storage.compact),
    ]
    for method, pattern, handler in table:
        app.route(method, pattern, handler)

    async def events(scope, receive, send, session) -> None:  # noqa: ANN001 - ASGI
        await event_stream(app, scope, receive, send, session)

    app.streams["/events"] = events
