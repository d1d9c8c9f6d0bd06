"""A plain HTTP client for the console, as a script or an attacker would
use it: cookies by hand, forms url-encoded, every answer read whole."""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from tests.integration.web.conftest import PASSWORDS

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str


@dataclass
class WebClient:
    port: int
    cookie: str | None = None
    token: str | None = None
    origin: str | None = field(default=None)

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None, read: bool = True, body: str | None = None) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if self.cookie:
            sent["Cookie"] = self.cookie
        if self.origin:
            sent["Origin"] = self.origin
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            text = response.read().decode() if read else ""
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
        finally:
            conn.close()

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str], token: bool = True, htmx: bool = True) -> Answer:
        """A form posted as the page's htmx posts it (answered with a
        fragment), or with `htmx` False as a plain form (answered with a
        redirect back to its page)."""
        if token and self.token is not None:
            form = {"csrf_token": self.token, **form}
        return self.request("POST", path, form, headers={"HX-Request": "true"} if htmx else None)


def signed_in(port: int, user: str) -> WebClient:
    client = WebClient(port, origin=f"http://127.0.0.1:{port}")
    answer = client.post("/ui/login", {"user": user, "password": PASSWORDS[user], "next": "/ui/vms"})
    assert answer.status == 303, answer.body
    client.cookie = answer.headers["set-cookie"].split(";")[0]
    page = client.get("/ui/vms")
    match = TOKEN.search(page.body)
    assert match, page.body
    client.token = match.group(1)
    return client
