"""Another host's storage roots, read from its /metrics: the figures an
operator's Prometheus scrapes there. CIM has no class for the free space
of a folder, so the peer's own exposition is the source, signed in with
the credentials the peers file gives."""

from __future__ import annotations

import base64
import ssl
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from prometheus_client.parser import text_string_to_metric_families

from cimprovider.web.console import PeerHost

SIZE = "cimprovider_storage_root_size_bytes"
FREE = "cimprovider_storage_root_free_bytes"


def peer_storage(peer: PeerHost, timeout: float) -> list[tuple[str, int, int]]:
    """(root, free bytes, total bytes) of each of the peer's storage roots;
    empty when the peer does not say (the page then reads "not reported")."""
    try:
        text = _scrape(peer, timeout)
    except (OSError, ValueError, urllib.error.URLError):
        return []
    size: dict[str, int] = {}
    free: dict[str, int] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in (SIZE, FREE) and "root" in sample.labels:
                    (size if sample.name == SIZE else free)[sample.labels["root"]] = int(sample.value)
    except ValueError:
        return []
    return [(root, free[root], size[root]) for root in sorted(size) if root in free]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib would follow a redirect with our Authorization header to
    any host (or down to plain HTTP): the peer's credentials are for its
    URL only, so a redirect is an answer without figures."""

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


def _scrape(peer: PeerHost, timeout: float) -> str:
    parts = urlsplit(peer.url)
    request = urllib.request.Request(f"{parts.scheme}://{parts.netloc}/metrics")
    if peer.credentials is not None:
        token = base64.b64encode(":".join(peer.credentials).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    context = None
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=str(peer.ca_file) if peer.ca_file else None)
        if peer.no_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirects())
    with opener.open(request, timeout=timeout) as answer:
        return answer.read().decode("utf-8", "replace")
