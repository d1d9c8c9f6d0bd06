"""The console's pages and where they are: one table, so what exists can
be read at a glance. Paths are below /ui."""

from __future__ import annotations

from cimprovider.web.app import WebApplication
from cimprovider.web.exchange import Request, Response, redirect
from cimprovider.web.live import event_stream
from cimprovider.web.pages import hosts, settings, storage, vm, vms, wizard
from cimprovider.web.pages.outcome import back_to_folder, back_to_vm, plain_form

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
        ("POST", f"/vms/{G}/power", plain_form(vm.power, back_to_vm)),
        ("POST", f"/vms/{G}/delete", plain_form(vm.delete, back_to_vm)),
        ("POST", f"/vms/{G}/checkpoints", plain_form(vm.checkpoint_create, back_to_vm)),
        ("POST", f"/vms/{G}/checkpoints/change", plain_form(vm.checkpoint_change, back_to_vm)),
        ("POST", f"/vms/{G}/settings/memory", plain_form(settings.memory, back_to_vm)),
        ("POST", f"/vms/{G}/settings/processors", plain_form(settings.processors, back_to_vm)),
        ("POST", f"/vms/{G}/settings/notes", plain_form(settings.notes, back_to_vm)),
        ("POST", f"/vms/{G}/settings/drives", plain_form(settings.drives, back_to_vm)),
        ("POST", f"/vms/{G}/settings/adapters", plain_form(settings.adapters, back_to_vm)),
        ("POST", f"/vms/{G}/settings/integration", plain_form(settings.integration, back_to_vm)),
        ("GET", "/storage", storage.browse),
        ("GET", "/storage/inspect", storage.inspect),
        ("POST", "/storage/create", plain_form(storage.create, back_to_folder)),
        ("POST", "/storage/convert", plain_form(storage.convert, back_to_folder)),
        ("POST", "/storage/compact", plain_form(storage.compact, back_to_folder)),
    ]
    for method, pattern, handler in table:
        app.route(method, pattern, handler)

    async def events(scope, receive, send, session) -> None:  # noqa: ANN001 - ASGI
        await event_stream(app, scope, receive, send, session)

    app.streams["/events"] = events
