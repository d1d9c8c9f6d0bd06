"""The console's own files (its stylesheet and script, and the vendored
htmx): read from the package, never fetched from anywhere at run time."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from cimprovider.web.exchange import Response, text

TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml"}
# Only these names are served: no path from the request reaches the file system.
FILES = ("console.css", "console.js", "vendor/htmx.min.js")


@lru_cache(maxsize=None)
def _read(name: str) -> bytes:
    return resources.files("cimprovider.web").joinpath("static", *name.split("/")).read_bytes()


def serve_static(name: str) -> Response:
    if name not in FILES:
        return text(404, "no such file")
    suffix = name[name.rfind("."):]
    return Response(200, _read(name), TYPES[suffix], [(b"cache-control", b"max-age=3600")])
