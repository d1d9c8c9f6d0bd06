"""What the console's pages draw on: the CIMOM they run operations
through, the bus they follow, the host's storage roots and peers, and the
templates they render."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from cimprovider.cimom import CIMOM
from cimprovider.events.bus import EventBus
from cimprovider.web.cim import CIMClient
from cimprovider.web.exchange import Request, Response


@dataclass(frozen=True, slots=True)
class PeerHost:
    """A host this server knows (the migration peers file)."""

    name: str
    url: str
    credentials: tuple[str, str] | None = None
    ca_file: Path | None = None
    no_verify: bool = False


def templates() -> Environment:
    env = Environment(loader=PackageLoader("cimprovider.web", "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env


@dataclass
class Console:
    cimom: CIMOM
    bus: EventBus | None
    host_name: str
    storage_roots: list[Path] = field(default_factory=list)
    peers: list[PeerHost] = field(default_factory=list)
    env: Environment = field(default_factory=templates)

    def client(self, request: Request) -> CIMClient:
        """CIM operations as the request's signed-in user."""
        return CIMClient(self.cimom, request.session.principal(request.address))

    def render(self, request: Request, template: str, status: int = 200, **values: Any) -> Response:
        session = request.session
        flash, session.flash = session.flash, None
        page = self.env.get_template(template).render(
            flash=flash,
            user=session.user or "local administrator", role=session.role, may_change=session.may_write(),
            csrf_token=session.csrf_token, host_name=self.host_name, path=request.path, **values)
        return Response(status, page)
