"""The destination's answer to where its hypervisor is reached (a libvirt
URI), checked before the source's libvirt is handed it: libvirt acts on
the URI on this host, so a rogue or mistaken destination could otherwise
have it run a program here (the `ext` transport, `command=`/`netcat=` of
ssh), use this host's keys or sockets (`keyfile=`, `pkipath=`, `socket=`,
`known_hosts=`), or loop back to this host's own daemon (`qemu:///system`,
`qemu+unix`).

Taken as the destination gives it: the QEMU driver over `tcp` or `tls`
to a named host, the daemon's /system or /session, with no user, query
or fragment. `ssh` is refused as well: it signs in with this host's ssh
identity to a host the destination chose. Anything else (another socket,
ssh, extra parameters) is taken only when the peers file pins exactly
that URI for the peer (`hypervisor_uri`): the administrator's choice."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

TRANSPORTS = ("qemu+tcp", "qemu+tls")
DAEMON_PATHS = ("/system", "/session")
_HOST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def uri_refusal(uri: str, pinned: str | None = None) -> str | None:
    """Why the source will not hand `uri` to its hypervisor; None when it may."""
    if pinned is not None:
        if uri == pinned:
            return None
        return f"the destination's hypervisor URI {uri!r} is not the one the peers file names for it ({pinned!r})"
    why = _why_refused(uri)
    return f"the destination's hypervisor URI {uri!r} is refused: {why}" if why else None


def _why_refused(uri: str) -> str | None:
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as error:
        return f"it is not a valid URI ({error})"
    if parts.scheme not in TRANSPORTS:
        return (f"only {' and '.join(TRANSPORTS)} reach another host's hypervisor without running or opening "
                f"anything here, not {parts.scheme or 'a URI without scheme'!r}; pin it in the peers file to allow it")
    if "@" in parts.netloc:
        return "it names a user"
    host = parts.hostname or ""
    if not host:
        return "it names no host, so it would reach this host's own daemon"
    if not (_HOST_NAME.match(host) or (parts.netloc.startswith("[") and re.fullmatch(r"[0-9A-Fa-f:.]+", host))):
        return f"{host!r} is not a host name or address"
    if port == 0:
        return "port 0 is no daemon's port"
    if parts.path not in DAEMON_PATHS:
        return f"the path must be {' or '.join(DAEMON_PATHS)}, not {parts.path or 'empty'!r}"
    if parts.query:
        return f"its parameters ({parts.query}) would be acted on here; pin it in the peers file to allow them"
    if parts.fragment:
        return "it has a fragment"
    return None
