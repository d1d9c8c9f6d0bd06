"""The hypervisor URI a destination answers with, checked before the
source's libvirt is handed it: the QEMU driver over tcp or tls to a named
host, nothing that would run a program, open a file or socket, sign in
with this host's keys, or reach this host's own daemon, unless the peers
file pins exactly that URI for the peer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cimprovider.migration.hypervisor_uri import uri_refusal
from cimprovider.migration.peers import PeerError, load_peers

SOCKET_URI = "qemu+unix:///system?socket=/run/second/libvirt-sock"  # how tier 2 reaches its second libvirtd


@pytest.mark.parametrize("uri", [
    "qemu+tcp://127.0.0.1:16509/system",  # the tier 2 remote URI
    "qemu+tcp://127.0.0.1/system",
    "qemu+tls://hostb.example/system",
    "qemu+tls://hostb.example:16514/session",
    "qemu+tcp://[::1]:16509/system",
])
def test_the_qemu_driver_over_tcp_or_tls_to_a_named_host_is_taken(uri: str):
    assert uri_refusal(uri) is None


@pytest.mark.parametrize(("uri", "why"), [
    ("qemu+ext:///system?command=/tmp/evil", "only qemu\\+tcp and qemu\\+tls"),
    ("qemu+ext://127.0.0.1/system?command=/tmp/evil", "only qemu\\+tcp and qemu\\+tls"),
    ("qemu+ssh://127.0.0.1/system?command=/tmp/evil", "only qemu\\+tcp and qemu\\+tls"),
    ("qemu+ssh://127.0.0.1/system", "'qemu\\+ssh'"),
    ("qemu+libssh2://127.0.0.1/system", "'qemu\\+libssh2'"),
    ("qemu:///system", "'qemu'"),
    ("qemu+unix:///system", "'qemu\\+unix'"),
    (SOCKET_URI, "'qemu\\+unix'"),
    ("xen+tcp://127.0.0.1/system", "'xen\\+tcp'"),
    ("test:///default", "'test'"),
    ("/system", "a URI without scheme"),
    ("qemu+tcp:///system", "names no host"),
    ("qemu+tcp://root@127.0.0.1/system", "names a user"),
    ("qemu+tcp://user:pw@127.0.0.1/system", "names a user"),
    ("qemu+tcp://-oProxyCommand=x/system", "is not a host name"),
    ("qemu+tcp://127.0.0.1:0/system", "port 0"),
    ("qemu+tcp://127.0.0.1:99999/system", "not a valid URI"),
    ("qemu+tcp://127.0.0.1/", "path must be"),
    ("qemu+tcp://127.0.0.1/system/../session", "path must be"),
    ("qemu+tcp://127.0.0.1/system?socket=/run/libvirt/libvirt-sock", "parameters \\(socket="),
    ("qemu+tcp://127.0.0.1/system?netcat=/tmp/evil", "parameters \\(netcat="),
    ("qemu+tls://127.0.0.1/system?pkipath=/tmp/keys", "parameters \\(pkipath="),
    ("qemu+tls://127.0.0.1/system?no_verify=1", "parameters \\(no_verify="),
    ("qemu+tcp://127.0.0.1/system?keyfile=/root/.ssh/id_rsa", "parameters \\(keyfile="),
    ("qemu+tcp://127.0.0.1/system#x", "fragment"),
])
def test_anything_else_is_refused_naming_the_uri_and_why(uri: str, why: str):
    refusal = uri_refusal(uri)
    assert refusal is not None and repr(uri) in refusal, refusal
    assert refusal.startswith(f"the destination's hypervisor URI {uri!r} is refused: ")
    assert re.search(why, refusal), refusal


def test_a_uri_pinned_in_the_peers_file_is_the_only_one_taken(tmp_path: Path):
    path = tmp_path / "peers.toml"
    path.write_text(f'[peers.hostb]\nurl = "http://127.0.0.1:5988"\nhypervisor_uri = "{SOCKET_URI}"\n')
    pinned = load_peers(path)["hostb"].hypervisor_uri
    assert pinned == SOCKET_URI and uri_refusal(SOCKET_URI, pinned) is None
    other = "qemu+tcp://127.0.0.1:16509/system"
    refusal = uri_refusal(other, pinned)
    assert refusal is not None and repr(other) in refusal and repr(SOCKET_URI) in refusal


def test_a_pin_that_is_not_a_string_is_refused_naming_the_peer(tmp_path: Path):
    path = tmp_path / "peers.toml"
    path.write_text('[peers.hostb]\nurl = "http://127.0.0.1:5988"\nhypervisor_uri = 5\n')
    with pytest.raises(PeerError, match="hostb.*hypervisor_uri must be a libvirt URI"):
        load_peers(path)
