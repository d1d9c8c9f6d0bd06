"""One HTTP exchange of the console as plain values: the request a page
handler reads (path, query, form, session) and the response it returns.
Handlers are synchronous (they run CIM operations, which block) and never
see ASGI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from cimprovider.web.sessions import Session

MAX_FORM_BYTES = 64 * 1024
SECURITY_HEADERS = [
    # Scripts only from the console itself; no framing (clickjacking).
    # Styles may also be written by the page's scripts: xterm.js styles the
    # serial console's rows with style elements it makes as it draws.
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
     b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class FormTooLarge(Exception):
    pass


@dataclass(slots=True)
class Request:
    method: str
    path: str  # below /ui, e.g. "/vms/ABC"
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    session: Session
    address: str | None
    htmx: bool  # asked by htmx for a fragment
    said: tuple[str, bool] | None = None  # what a change answered: message, success

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name) or self.form.get(name)
        return values[0] if values else default

    def field(self, name: str, default: str = "") -> str:
        values = self.form.get(name)
        return values[0].strip() if values else default

    def fields(self, name: str) -> list[str]:
        return self.form.get(name, [])


@dataclass(slots=True)
class Response:
    status: int = 200
    body: str | bytes = ""
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def encoded(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body


def redirect(location: str, htmx: bool = False) -> Response:
    """A redirect a browser follows; for htmx, HX-Redirect (htmx does not
    follow a 303 into the page, it swaps the target)."""
    if htmx:
        return Response(200, "", headers=[(b"hx-redirect", location.encode())])
    return Response(303, "", headers=[(b"location", location.encode())])


def text(status: int, message: str) -> Response:
    return Response(status, message + "\n", "text/plain; charset=utf-8")


def parse_form(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


async def read_body(receive: Any, limit: int = MAX_FORM_BYTES) -> bytes | None:
    """The request body, None if the client left; FormTooLarge past `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise FormTooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_response(send: Any, response: Response, head_only: bool = False) -> None:
    body = response.encoded()
    headers = [(b"content-type", response.content_type.encode()), *SECURITY_HEADERS, *response.headers,
               (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head_only else body})
