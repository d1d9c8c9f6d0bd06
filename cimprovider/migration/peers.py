"""The peers file: each peer host this server may migrate VMs to, by
name, with its URL and the credentials this server signs in with there
(a user with the admin role on the peer).

    [peers.hostb]
    url = "https://hostb.example:5989"
    user = "migrator"
    password = "…"          # or password_file = "/etc/cimprovider/hostb.pw"
    ca_file = "/etc/cimprovider/ca.pem"   # optional; no_verify = true to skip
    addresses = ["192.0.2.7"]            # optional: its other addresses
    hypervisor_uri = "qemu+ssh://hostb.example/system"   # optional: the one
                             # hypervisor URI taken from it (see hypervisor_uri)

A DestinationHost is a peer's name, `host:port` or a URL; the last two
take the credentials of the peer with that URL, if there is one.

A migration's DestinationIPAddressList reaches the peer on other
addresses with the same credentials, so those addresses must be the
peer's own: what its URL's host resolves to, or what `addresses` lists.
Anything else would hand the peer's account to whatever answers there."""

from __future__ import annotations

import socket
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit


class PeerError(ValueError):
    """The peers file or a destination is unusable; the message says why."""


@dataclass(frozen=True)
class Peer:
    name: str
    url: str
    user: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    no_verify: bool = False
    timeout: float = 60  # seconds a call waits for the peer's answer
    addresses: tuple[str, ...] = ()  # other addresses the peers file gives it
    hypervisor_uri: str | None = None  # the only hypervisor URI taken from it, when given

    @property
    def credentials(self) -> tuple[str, str] | None:
        return (self.user, self.password or "") if self.user else None

    def at(self, address: str) -> "Peer":
        """The same peer reached on another address (one of a migration's
        DestinationIPAddressList), with its scheme, port and credentials."""
        parts = urlsplit(self.url)
        host = f"[{address}]" if ":" in address else address
        return replace(self, url=f"{parts.scheme}://{host}:{parts.port}")

    def stray_address(self, addresses: tuple[str, ...], resolve: Callable[[str], set[str]] | None = None) -> str | None:
        """The first of `addresses` that is not this peer's own, if the
        peer has credentials to lose; None when all may be used."""
        if self.credentials is None:
            return None  # nothing of the peers file's goes with the call
        own = {_normal_address(a) for a in self.addresses}
        hostname = urlsplit(self.url).hostname or ""
        own |= (resolve or _resolved)(hostname)
        return next((a for a in addresses if _normal_address(a) not in own), None)


def _normal_address(address: str) -> str:
    try:
        return str(ip_address(address.split("%", 1)[0]))
    except ValueError:
        return address


def _resolved(host: str) -> set[str]:
    """The addresses `host` (a name or a literal) resolves to; none when it does not."""
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return set()
    return {_normal_address(str(sockaddr[0])) for *_, sockaddr in found}


def _normal_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PeerError(f"{url!r} is not an http or https URL")
    port = parts.port or (5989 if parts.scheme == "https" else 5988)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port}"


def _peer(name: str, entry: object, source: Path) -> Peer:
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
        raise PeerError(f"{source}: peer {name!r} needs a url")
    unknown = set(entry) - {"url", "user", "password", "password_file", "ca_file", "no_verify", "timeout", "addresses",
                           "hypervisor_uri"}
    if unknown:
        raise PeerError(f"{source}: peer {name!r} has unknown keys: {', '.join(sorted(unknown))}")
    password = entry.get("password")
    if "password_file" in entry:
        password = Path(entry["password_file"]).expanduser().read_text().strip()
    ca_file = Path(entry["ca_file"]).expanduser() if entry.get("ca_file") else None
    timeout = entry.get("timeout", 60)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise PeerError(f"{source}: peer {name!r}: timeout must be a positive number of seconds, not {timeout!r}")
    addresses = entry.get("addresses", [])
    if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
        raise PeerError(f"{source}: peer {name!r}: addresses must be a list of IP addresses")
    for address in addresses:
        try:
            ip_address(address)
        except ValueError:
            raise PeerError(f"{source}: peer {name!r}: {address!r} in addresses is not an IP address") from None
    hypervisor_uri = entry.get("hypervisor_uri")
    if hypervisor_uri is not None and not isinstance(hypervisor_uri, str):
        raise PeerError(f"{source}: peer {name!r}: hypervisor_uri must be a libvirt URI")
    return Peer(name, _normal_url(entry["url"]), entry.get("user"), password, ca_file, bool(entry.get("no_verify", False)),
                float(timeout), tuple(addresses), hypervisor_uri)


def load_peers(path: Path | None) -> dict[str, Peer]:
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise PeerError(f"peers file {path}: {error}") from None
    table = data.get("peers", {})
    if not isinstance(table, dict):
        raise PeerError(f"{path}: [peers] must be a table of peer hosts")
    return {name: _peer(name, entry, path) for name, entry in table.items()}


def resolve_destination(destination: str, peers: dict[str, Peer]) -> Peer:
    """The peer a DestinationHost names: a peer's name (case-insensitive),
    a URL, or host:port (plain HTTP, as a port alone says nothing of TLS)."""
    text = destination.strip()
    for name, peer in peers.items():
        if name.casefold() == text.casefold():
            return peer
    if "://" not in text:
        if ":" not in text.rsplit("]", 1)[-1]:
            raise PeerError(f"{destination!r} is neither a peer in the peers file nor host:port nor a URL")
        text = f"http://{text}"
    url = _normal_url(text)
    for peer in peers.values():
        if peer.url == url:
            return peer
    return Peer(destination, url)
