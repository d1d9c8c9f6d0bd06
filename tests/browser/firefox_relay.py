"""Debian's firefox-esr for Playwright over WebDriver BiDi.

Playwright launches this file as the browser (through a two-line script
that names this interpreter). It starts /usr/bin/firefox-esr with Playwright's
arguments and stands between the two on loopback, passing every message
through, save one: firefox-esr has no `emulation.setMediaFeaturesOverride`,
which Playwright sends for every new context. Firefox takes its colour
scheme from the profile's `layout.css.prefers-color-scheme.content-override`
pref instead, so that command is answered here: success when the scheme
asked for is the one the browser was started with (or no override at all),
an error naming both otherwise; the answer never reaches firefox-esr. Nothing is pretended: a context asking for
dark colours from a light browser fails.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Ping, Request, TextMessage)

FIREFOX = "/usr/bin/firefox-esr"
SCHEME_PREF = "layout.css.prefers-color-scheme.content-override"
SCHEMES = {0: "dark", 1: "light"}  # the pref's values (2 follows the browser's theme)
LISTENING = re.compile(rb"WebDriver BiDi listening on (ws://\S+)")
CHUNK = 65536


def profile_scheme(argv: list[str]) -> str | None:
    """The colour scheme the profile Playwright made fixes, if it fixes one."""
    if "--profile" not in argv:
        return None
    user_js = Path(argv[argv.index("--profile") + 1]) / "user.js"
    found = re.search(rf'user_pref\("{re.escape(SCHEME_PREF)}",\s*(\d+)\)', user_js.read_text())
    return SCHEMES.get(int(found.group(1))) if found else None


class Side:
    """One websocket end: its socket and protocol state, sent to under a lock
    because both directions of the relay may answer on it."""

    def __init__(self, sock: socket.socket, kind: ConnectionType) -> None:
        self.sock = sock
        self.ws = WSConnection(kind)
        self.lock = threading.RLock()
        self.pending = ""

    def send(self, event) -> None:
        with self.lock:
            self.sock.sendall(self.ws.send(event))

    def events(self):
        """Protocol events for what the socket brings next; None at its end."""
        data = self.sock.recv(CHUNK)
        with self.lock:
            self.ws.receive_data(data or None)
            return list(self.ws.events()) if data else None

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def handshake_events(side: Side, who: str) -> list:
    events = side.events()
    if events is None:
        raise ConnectionError(f"{who} closed the connection during the websocket handshake")
    return events


def handshake_as_server(side: Side) -> str:
    """Accept Playwright's websocket; the path it asked for."""
    while True:  # until the whole request has arrived
        for event in handshake_events(side, "Playwright"):
            if isinstance(event, Request):
                side.send(AcceptConnection())
                return event.target


def handshake_as_client(side: Side, host: str, target: str) -> None:
    side.send(Request(host=host, target=target))
    while True:
        for event in handshake_events(side, "firefox-esr"):
            if isinstance(event, AcceptConnection):
                return
            raise ConnectionError(f"firefox-esr refused the relay's websocket: {event!r}")


def media_answer(message: dict, scheme: str | None) -> dict:
    """The reply to emulation.setMediaFeaturesOverride this browser can honour."""
    features = message.get("params", {}).get("features", {})
    # Playwright leaves the feature out for a context that names no scheme:
    # its documented default, light.
    wanted = features.get("prefers-color-scheme", "light")
    if wanted is None or wanted == scheme:
        return {"type": "success", "id": message["id"], "result": {}}
    return {
        "type": "error", "id": message["id"], "error": "unsupported operation", "stacktrace": "",
        "message": f"this firefox-esr was started with the {scheme or 'default'} colour scheme "
                   f"({SCHEME_PREF}); it cannot show {wanted}: launch one with that pref",
    }


def pump(source: Side, sink: Side, answer_here) -> None:
    """Carry messages from source to sink until either closes."""
    try:
        while (events := source.events()) is not None:
            for event in events:
                if isinstance(event, (TextMessage, BytesMessage)):
                    source.pending += event.data if isinstance(event, TextMessage) else event.data.decode()
                    if not event.message_finished:
                        continue
                    text, source.pending = source.pending, ""
                    reply = answer_here(text)
                    if reply is not None:
                        source.send(TextMessage(data=json.dumps(reply)))
                    else:
                        sink.send(TextMessage(data=text))
                elif isinstance(event, Ping):
                    source.send(event.response())
                elif isinstance(event, CloseConnection):
                    return
    except OSError:
        return
    finally:
        source.close()
        sink.close()


def relay(client_sock: socket.socket, upstream: str, scheme: str | None) -> None:
    client = Side(client_sock, ConnectionType.SERVER)
    address = urlsplit(upstream)
    try:
        target = handshake_as_server(client)
        browser = Side(socket.create_connection((address.hostname, address.port)), ConnectionType.CLIENT)
        handshake_as_client(browser, address.netloc, target)
    except (ConnectionError, OSError) as error:
        sys.stderr.write(f"firefox_relay: {error}\n")
        client.close()
        return

    def from_playwright(text: str) -> dict | None:
        message = json.loads(text)
        if message.get("method") == "emulation.setMediaFeaturesOverride":
            return media_answer(message, scheme)
        return None

    threading.Thread(target=pump, args=(browser, client, lambda text: None), daemon=True).start()
    pump(client, browser, from_playwright)


def serve(listener: socket.socket, upstream: str, scheme: str | None) -> None:
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=relay, args=(connection, upstream, scheme), daemon=True).start()


def copy_lines(stream, out) -> None:
    for line in stream:
        out.write(line)
        out.flush()


def main(argv: list[str]) -> int:
    scheme = profile_scheme(argv)
    firefox = subprocess.Popen([FIREFOX, *argv], stderr=subprocess.PIPE)
    err = sys.stderr.buffer
    for line in firefox.stderr:
        if found := LISTENING.search(line):
            upstream = found.group(1).decode()
            break
        err.write(line)
        err.flush()
    else:
        return firefox.wait()
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=serve, args=(listener, upstream, scheme), daemon=True).start()
    err.write(f"WebDriver BiDi listening on ws://127.0.0.1:{listener.getsockname()[1]}\n".encode())
    err.flush()
    threading.Thread(target=copy_lines, args=(firefox.stderr, err), daemon=True).start()
    return firefox.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
