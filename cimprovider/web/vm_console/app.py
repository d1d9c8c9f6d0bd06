"""The consoles' HTTP side, mounted at /ui/console/:

    GET  vm/<id>                      a page with the VM's consoles
    GET  vm/<id>/<kind>/ticket        a ticket for one console websocket (JSON)
    WS   vm/<id>/<kind>/socket        the console itself (sockets.py)
    GET  assets/<file>, vendor/<file> the page's script and the vendored
                                      xterm.js and noVNC (the files
                                      static/vendor/manifest.json names)

Every request needs a live session; the ticket answers also whether the
session may type (admin) or only watch (reader)."""

from __future__ import annotations

import asyncio
import json
import mimetypes
from concurrent.futures import Executor
from pathlib import Path
from typing import Any
from uuid import UUID

from cimprovider.backends.console import ConsoleBackend, ConsoleKind
from cimprovider.backends.errors import NotFoundError
from cimprovider.http.authenticator import Refusal
from cimprovider.web.access import headers_of, same_origin
from cimprovider.web.vm_console.page import console_page
from cimprovider.web.vm_console.sockets import ConsoleAccess, ConsoleSockets, parse_console_path
from cimprovider.web.vm_console.tickets import ConsoleTickets

PREFIX = "/ui/console/"
ASSETS = Path(__file__).parent / "assets"
VENDOR = Path(__file__).parent.parent / "static" / "vendor"


def _served_files() -> dict[str, Path]:
    """URL path below PREFIX → file: our assets and the vendored files the manifest names."""
    files = {f"assets/{path.name}": path for path in ASSETS.iterdir() if path.is_file()}
    for entry in json.loads((VENDOR / "manifest.json").read_text())["files"]:
        files[f"vendor/{entry['file']}"] = VENDOR / entry["file"]
    return files

TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class ConsoleApp:
    def __init__(self, access: ConsoleAccess, backend: object, pool: Executor) -> None:
        self.access = access
        self.backend = backend
        self.pool = pool
        self.tickets = ConsoleTickets()
        self.files = _served_files()
        self.sockets = ConsoleSockets(access, self.tickets, backend, pool)

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        if scope["type"] == "websocket":
            address = parse_console_path(scope["path"], PREFIX, "socket")
            if address is None:
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.sockets(scope, receive, send, address)
            return
        if scope["type"] != "http":
            return
        status, content_type, body = await self._answer(scope)
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS]
        if content_type.startswith("text/html"):
            headers.append((b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    async def _answer(self, scope: dict[str, Any]) -> tuple[int, str, bytes]:
        if scope["method"] not in ("GET", "HEAD"):
            return _text(405, "the console pages answer GET; the consoles themselves are websockets")
        viewer = self.access.session(scope)
        if isinstance(viewer, Refusal):
            return _text(viewer.status, viewer.message + " (sign in at /ui/)")
        rest = scope["path"][len(PREFIX):]
        if rest in self.files:
            return _static(self.files[rest])
        parts = rest.split("/")
        if len(parts) == 2 and parts[0] == "vm" and _uuid(parts[1]) is not None:
            return 200, "text/html; charset=utf-8", console_page(parts[1], viewer.may_write()).encode()
        if len(parts) == 4 and parts[0] == "vm" and parts[3] == "ticket":
            if not same_origin(scope, headers_of(scope), required=False):
                return _text(403, "request from another origin refused")
            return await self._ticket(viewer, parts[1], parts[2])
        return _text(404, f"nothing at {scope['path']}")

    async def _ticket(self, viewer, vm_text: str, kind_text: str) -> tuple[int, str, bytes]:
        vm_id = _uuid(vm_text)
        try:
            kind = ConsoleKind(kind_text)
        except ValueError:
            kind = None
        if vm_id is None or kind is None:
            return _text(404, f"no console {kind_text!r} of VM {vm_text!r}")
        if not isinstance(self.backend, ConsoleBackend):
            return _text(404, "this host's backend offers no consoles")
        try:
            kinds = await asyncio.get_running_loop().run_in_executor(self.pool, self.backend.console_kinds, vm_id)
        except NotFoundError as error:
            return _text(404, str(error))
        if kind not in kinds:
            missing = "no screen to show: it has no VNC display (simulated VMs have none)" if kind is ConsoleKind.GRAPHICS else "no serial console on COM1"
            return _text(404, f"this VM has {missing}")
        ticket = self.tickets.issue(viewer.key, vm_id, kind.value)
        body = {"ticket": ticket, "viewOnly": not viewer.may_write(), "user": viewer.user, "role": viewer.role}
        return 200, "application/json", json.dumps(body).encode()


def _static(path: Path) -> tuple[int, str, bytes]:
    content_type = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return 200, content_type, path.read_bytes()


def _text(status: int, message: str) -> tuple[int, str, bytes]:
    return status, "text/plain; charset=utf-8", (message + "\n").encode()


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None
