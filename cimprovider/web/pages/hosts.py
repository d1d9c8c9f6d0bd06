"""The hosts page: this server and its peers, side by side."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from cimprovider.web.console import Console
from cimprovider.web.exchange import Request, Response
from cimprovider.web.hosts import local_host, peer_host


def hosts(console: Console, request: Request) -> Response:
    local = local_host(console.client(request), console.host_name, console.storage_roots)
    peers = []
    if console.peers:
        # Peers answer in parallel, so one that is down costs its timeout once.
        with ThreadPoolExecutor(max_workers=min(8, len(console.peers))) as pool:
            peers = list(pool.map(peer_host, console.peers))
    return console.render(request, "hosts.html", hosts=[local, *peers])
