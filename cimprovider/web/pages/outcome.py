"""What an action answers: a fragment htmx puts in the page, saying what
was done (a status) or the error a CIM client would get, in words (an
alert)."""

from __future__ import annotations

from collections.abc import Callable

from cimprovider.web.cim import ActionFailed, CIMClient
from cimprovider.web.console import Console
from cimprovider.web.exchange import Request, Response


def outcome(console: Console, request: Request, message: str, ok: bool) -> Response:
    html = console.env.get_template("_outcome.html").render(message=message, ok=ok)
    return Response(200 if ok else 409, html)


def act(console: Console, request: Request, what: Callable[[CIMClient], str]) -> Response:
    try:
        return outcome(console, request, what(console.client(request)), True)
    except ActionFailed as failure:
        return outcome(console, request, str(failure), False)
