"""The hosts pane reads a peer's storage from its /metrics with the
credentials the peers file gives for that peer: they go to the peer's
URL and nowhere else. A peer whose /metrics answers with a redirect to
another host (or to plain HTTP) is not followed: the pane shows its
storage as not reported, and the other host never sees the password."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cimprovider.web.console import PeerHost
from cimprovider.web.peer_storage import peer_storage
from tests.support.recorder import recording_listener

METRICS = (
    '# TYPE cimprovider_storage_root_size_bytes gauge\n'
    'cimprovider_storage_root_size_bytes{root="/srv/vms"} 1000\n'
    '# TYPE cimprovider_storage_root_free_bytes gauge\n'
    'cimprovider_storage_root_free_bytes{root="/srv/vms"} 400\n'
    '# EOF\n'
)


@contextmanager
def peer_answering(location: str | None) -> Iterator[tuple[str, list[str]]]:
    """A loopback "peer": /metrics redirects to `location`, or answers the
    figures. Yields its URL and the Authorization headers it was sent."""
    seen: list[str] = []

    class Peer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            seen.append(self.headers.get("Authorization", ""))
            if location is not None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = METRICS.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Peer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_peers_own_metrics_are_read_with_its_credentials():
    with peer_answering(None) as (url, seen):
        assert peer_storage(PeerHost("hostb", url, ("migrator", "secret")), 5) == [("/srv/vms", 400, 1000)]
    assert seen and seen[0].startswith("Basic ")


def test_a_redirect_elsewhere_takes_no_credentials_there():
    with recording_listener("127.0.0.3") as elsewhere:
        with peer_answering(f"http://127.0.0.3:{elsewhere.port}/metrics") as (url, seen):
            assert peer_storage(PeerHost("hostb", url, ("migrator", "secret")), 5) == []
        assert seen, "the peer was not asked"
        assert not elsewhere.contacted, elsewhere.heads
