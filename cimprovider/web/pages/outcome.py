"""What an action answers: a fragment htmx puts in the page, saying what
was done (a status) or the error a CIM client would get, in words (an
alert).

A form posted without htmx (scripts off, or a click before htmx has
loaded) is answered as browsers expect of a plain form: a redirect (303)
back to the page it came from, which shows the outcome once. So a reload
never posts again, and no fragment ever stands alone as a page."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from cimprovider.web.cim import ActionFailed, CIMClient
from cimprovider.web.console import Console
from cimprovider.web.exchange import Request, Response, redirect

# The page a change's form is on, from the request and the route's groups.
Back = Callable[..., str]


def outcome(console: Console, request: Request, message: str, ok: bool) -> Response:
    request.said = (message, ok)
    html = console.env.get_template("_outcome.html").render(message=message, ok=ok)
    return Response(200 if ok else 409, html)


def act(console: Console, request: Request, what: Callable[[CIMClient], str]) -> Response:
    try:
        return outcome(console, request, what(console.client(request)), True)
    except ActionFailed as failure:
        return outcome(console, request, str(failure), False)


def plain_form(handler: Callable[..., Response], back: Back) -> Callable[..., Response]:
    """`handler` answering a post without htmx with a redirect to `back`,
    carrying what the change said to that page through the session."""
    def answer(console: Console, request: Request, **groups: str) -> Response:
        response = handler(console, request, **groups)
        if request.htmx or request.said is None or 300 <= response.status < 400:
            return response
        request.session.flash = request.said
        return redirect(back(request, **groups))
    return answer


def back_to_vm(_request: Request, guid: str) -> str:
    return f"/ui/vms/{guid}"


def back_to_folder(request: Request) -> str:
    """The folder a storage form was about: named, or that of its file."""
    folder = request.field("folder") or request.field("path").rsplit("/", 1)[0]
    return f"/ui/storage?path={quote(folder, safe='')}" if folder else "/ui/storage"
