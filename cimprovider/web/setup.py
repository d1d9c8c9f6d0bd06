"""The console assembled: its application with every page and the event
stream, over the CIMOM, the bus and the host's storage roots and peers."""

from __future__ import annotations

from pathlib import Path

from cimprovider.cimom import CIMOM
from cimprovider.events.bus import EventBus
from cimprovider.web.access import WebAccess
from cimprovider.web.app import WebApplication
from cimprovider.web.console import Console, PeerHost
from cimprovider.web.routes import add_routes


def web_console(access: WebAccess, cimom: CIMOM, bus: EventBus | None, host_name: str, storage_roots: list[Path],
                peers: list[PeerHost]) -> WebApplication:
    app = WebApplication(access, Console(cimom, bus, host_name, list(storage_roots), list(peers)))
    add_routes(app)
    return app
