"""The storage page: the storage roots as folders to browse, and the
virtual hard disk operations of the image management service."""

from __future__ import annotations

from pathlib import Path

from cimprovider.web import storage
from cimprovider.web.cim import ActionFailed, CIMClient
from cimprovider.web.console import Console
from cimprovider.web.exchange import Request, Response
from cimprovider.web.pages.outcome import act, outcome
from cimprovider.web.storage_files import DISK_SUFFIXES, inside, listing


def browse(console: Console, request: Request) -> Response:
    roots = console.storage_roots
    asked = request.arg("path")
    folder = inside(Path(asked), roots) if asked else None
    error = ""
    if asked and (folder is None or not folder.is_dir()):
        error, folder = f"{asked} is not a folder inside the storage roots", None
    entries = listing(folder) if folder is not None else []
    parent = folder.parent if folder is not None and inside(folder.parent, roots) is not None else None
    return console.render(request, "storage.html", roots=[str(r) for r in roots], folder=folder, entries=entries,
                          parent=parent, error=error, disk_suffixes=DISK_SUFFIXES)


def _size(text: str) -> int:
    try:
        size = int(text)
    except ValueError:
        raise ActionFailed("Size (GB) must be a whole number") from None
    if not 1 <= size <= 65536:
        raise ActionFailed("Size (GB) must be between 1 and 65536")
    return size


def create(console: Console, request: Request) -> Response:
    def change(client: CIMClient) -> str:
        name = request.field("name")
        if not name or "/" in name:
            raise ActionFailed("Name: a file name without folders, ending in .vhdx or .vhd")
        path = str(Path(request.field("folder")) / name)
        storage.create(client, path, request.field("format", "vhdx"), request.field("type", "dynamic"),
                       _size(request.field("size")))
        return f"Created {path}"
    return _with_files(console, request, act(console, request, change), request.field("folder"))


def inspect(console: Console, request: Request) -> Response:
    try:
        values = storage.inspect(console.client(request), request.arg("path"))
    except ActionFailed as failure:
        return outcome(console, request, str(failure), False)
    html = console.env.get_template("_disk.html").render(values=values)
    return Response(200, html)


def convert(console: Console, request: Request) -> Response:
    def change(client: CIMClient) -> str:
        source = request.field("path")
        name = request.field("destination")
        if not name or "/" in name:
            raise ActionFailed("New file name: a file name without folders")
        destination = str(Path(source).parent / name)
        storage.convert(client, source, destination, request.field("format", "vhdx"), request.field("type", "dynamic"))
        return f"Converted to {destination}"
    return _with_files(console, request, act(console, request, change), str(Path(request.field("path")).parent))


def _with_files(console: Console, request: Request, done: Response, folder: str) -> Response:
    """A made disk's outcome, with the folder's file table again (htmx puts
    it in place out of band), so the new file is listed without a reload."""
    found = inside(Path(folder), console.storage_roots) if done.status == 200 and folder else None
    if found is None or not found.is_dir():
        return done
    table = console.env.get_template("_files.html").render(
        folder=found, entries=listing(found), disk_suffixes=DISK_SUFFIXES, csrf_token=request.session.csrf_token,
        oob=True)
    return Response(done.status, f"{done.body}\n{table}")


def compact(console: Console, request: Request) -> Response:
    def change(client: CIMClient) -> str:
        storage.compact(client, request.field("path"))
        return f"Compacted {request.field('path')}"
    return act(console, request, change)
