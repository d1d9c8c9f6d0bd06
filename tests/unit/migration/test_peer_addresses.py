"""A peer's own addresses: its URL's host and the peers file's
`addresses`. Only those may carry its credentials; a peer without
credentials loses nothing wherever it is reached."""

from __future__ import annotations

from pathlib import Path

import pytest

from cimprovider.migration.peers import PeerError, load_peers, resolve_destination


def peers(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "peers.toml"
    path.write_text(f'[peers.hostb]\nurl = "http://127.0.0.1:5988"\nuser = "m"\npassword = "p"\n{extra}')
    return path


def test_the_urls_host_and_the_listed_addresses_are_the_peers_own(tmp_path: Path):
    peer = load_peers(peers(tmp_path, 'addresses = ["127.0.0.2", "::1"]\n'))["hostb"]
    assert peer.stray_address(("127.0.0.1", "127.0.0.2", "0:0::1")) is None
    assert peer.stray_address(("127.0.0.2", "127.0.0.9")) == "127.0.0.9"


def test_a_peer_without_credentials_may_be_reached_anywhere(tmp_path: Path):
    stranger = resolve_destination("127.0.0.1:6000", load_peers(peers(tmp_path, "")))
    assert stranger.credentials is None and stranger.stray_address(("127.0.0.9",)) is None
    named = resolve_destination("http://127.0.0.1:5988", load_peers(peers(tmp_path, "")))
    assert named.name == "hostb" and named.stray_address(("127.0.0.9",)) == "127.0.0.9"


@pytest.mark.parametrize("value", ['"127.0.0.2"', '["hostb.example"]', "[1]"])
def test_addresses_that_are_not_a_list_of_ip_addresses_are_refused(tmp_path: Path, value: str):
    with pytest.raises(PeerError, match="hostb.*addresses"):
        load_peers(peers(tmp_path, f"addresses = {value}\n"))
