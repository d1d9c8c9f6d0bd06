"""Where indications may be sent, and which https listeners are trusted.

A listener destination is a URL an admin gives; unchecked, it makes the
server a client of any host it can reach (a cloud metadata service, an
internal admin page). A destination is allowed only when every address its
host resolves to lies in one of the configured networks (loopback unless
configured otherwise). The check runs when a destination is created or
changed, and again for every connection a delivery opens, which then goes
to the very address that was checked: a name whose DNS record changes
later cannot steer deliveries elsewhere.

An https listener must present a certificate the server trusts (the
system's CAs, or only those of a configured CA file) for the host named in
the URL, unless verification is turned off."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from pathlib import Path

Network = IPv4Network | IPv6Network
SocketAddress = tuple[int, tuple]  # (address family, sockaddr) as connect() takes them
Resolver = Callable[[str, int], list[SocketAddress]]

LOOPBACK: tuple[Network, ...] = (ip_network("127.0.0.0/8"), ip_network("::1/128"))


class DestinationRefused(ValueError):
    """The destination's host is not one indications may be sent to; the
    message names the host, why, and the allowed networks."""


class ListenerTrustError(ValueError):
    """The configured CA file cannot be used."""


def resolve_host(host: str, port: int) -> list[SocketAddress]:
    """The system's answer for `host` (a name, or an address literal)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [(family, sockaddr) for family, _, _, _, sockaddr in found]


def verifying_tls(ca_file: Path | None = None) -> ssl.SSLContext:
    """Certificates checked against the system's CAs, or only `ca_file`'s."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)
    except (OSError, ssl.SSLError) as exc:
        raise ListenerTrustError(f"listener CA file {ca_file} cannot be used: {exc}") from None


def unverified_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True)
class ListenerAccess:
    networks: tuple[Network, ...] = LOOPBACK
    tls: ssl.SSLContext = field(default_factory=verifying_tls)
    resolve: Resolver = resolve_host

    def describe(self) -> str:
        return ", ".join(str(network) for network in self.networks)

    def admits(self, host_address: str) -> bool:
        """True when the address (a literal, as resolution gives it) lies in
        an allowed network. An IPv4 address in IPv6 clothing (::ffff:a.b.c.d)
        is judged as the IPv4 address it reaches."""
        address = ip_address(host_address.split("%", 1)[0])
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def addresses(self, host: str, port: int) -> list[SocketAddress]:
        """Every address `host` resolves to, when all of them are allowed;
        DestinationRefused otherwise."""
        try:
            found = self.resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise DestinationRefused(f"host {host} does not resolve ({exc})") from None
        if not found:
            raise DestinationRefused(f"host {host} does not resolve")
        outside = sorted({sockaddr[0] for _, sockaddr in found if not self.admits(sockaddr[0])})
        if outside:
            shown = host if outside == [host] else f"{host} ({', '.join(outside)})"
            raise DestinationRefused(
                f"host {shown} is outside the networks indications may be sent to ({self.describe()})"
            )
        return found


def listener_access(
    allow: Iterable[Network] = (), ca_file: Path | None = None, verify: bool = True
) -> ListenerAccess:
    """The access the server's configuration gives: `allow` replaces the
    loopback default when it names any network."""
    networks: Sequence[Network] = tuple(allow) or LOOPBACK
    if not verify:
        return ListenerAccess(tuple(networks), unverified_tls())
    return ListenerAccess(tuple(networks), verifying_tls(ca_file))
