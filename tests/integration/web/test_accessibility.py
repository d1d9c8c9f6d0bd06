"""Every control of every page has a name a screen reader can say: inputs,
selects and text areas a <label for> or aria-label, buttons their text or
aria-label, links their text; images (charts) a role and a label. And
nothing a page loads comes from elsewhere: no CDN, the server may be on an
isolated network."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.integration.web.browserless import signed_in
from tests.integration.web.test_pages import make_vm
from tests.support.live import LiveServer

CONTROLS = ("input", "select", "textarea")


class Controls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.labelled: set[str] = set()
        self.fields: list[dict[str, str]] = []
        self.buttons: list[tuple[dict[str, str], list[str]]] = []
        self.svgs: list[dict[str, str]] = []
        self._button: tuple[dict[str, str], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "label" and "for" in found:
            self.labelled.add(found["for"])
        elif tag in CONTROLS and found.get("type") != "hidden":
            self.fields.append(found)
        elif tag == "button":
            self._button = (found, [])
        elif tag == "svg":
            self.svgs.append(found)

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            self.buttons.append(self._button)
            self._button = None


def unnamed(page: str) -> list[str]:
    parser = Controls()
    parser.feed(page)
    missing = [f"{f}" for f in parser.fields if f.get("id") not in parser.labelled and not f.get("aria-label")]
    missing += [f"button {a}" for a, text in parser.buttons if not "".join(text).strip() and not a.get("aria-label")]
    missing += [f"svg {a}" for a in parser.svgs if a.get("role") != "img" or not a.get("aria-label")]
    return missing


# What a browser fetches by itself: scripts, styles, images, frames.
LOADED = re.compile(r'<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)="([^"]*)"')


def test_every_control_on_every_page_has_a_name(web_server: LiveServer) -> None:
    admin = signed_in(web_server.port, "alice")
    guid = make_vm(admin, "named")
    admin.post(f"/ui/vms/{guid}/checkpoints", {})
    pages = ["/ui/vms", f"/ui/vms/{guid}", "/ui/hosts", "/ui/storage",
             f"/ui/storage?path={web_server.data_dir / 'storage'}", "/ui/vms/new"]
    bodies = {path: admin.get(path).body for path in pages}
    wizard = {"name": "w", "generation": "2", "memory": "512", "processors": "1", "switch": "", "disk": "none",
              "media": "later"}
    for step in range(6):
        bodies[f"wizard step {step + 1}"] = admin.post("/ui/vms/new", {"step": str(step), "go": "next", **wizard}).body
    for where, body in bodies.items():
        assert "<main" in body, where
        assert unnamed(body) == [], where
        fetched = LOADED.findall(body)
        assert all(url.startswith("/ui/") for url in fetched), (where, fetched)
    assert "/ui/console/assets/console.js" in LOADED.findall(bodies[f"/ui/vms/{guid}"])
