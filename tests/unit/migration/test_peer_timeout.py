"""A peer's `timeout` in the peers file: how long the source waits for
each answer of that destination; anything but a positive number of
seconds is refused, naming the peer."""

from __future__ import annotations

from pathlib import Path

import pytest

from cimprovider.migration.peers import PeerError, load_peers


def peers(tmp_path: Path, timeout: str | None) -> Path:
    path = tmp_path / "peers.toml"
    line = f"timeout = {timeout}\n" if timeout is not None else ""
    path.write_text(f'[peers.hostb]\nurl = "http://127.0.0.1:5988"\n{line}')
    return path


def test_a_peer_waits_a_minute_unless_told_otherwise(tmp_path: Path):
    assert load_peers(peers(tmp_path, None))["hostb"].timeout == 60
    assert load_peers(peers(tmp_path, "2.5"))["hostb"].timeout == 2.5


@pytest.mark.parametrize("value", ["0", "-1", '"soon"', "true"])
def test_a_timeout_that_is_not_a_positive_number_of_seconds_is_refused(tmp_path: Path, value: str):
    with pytest.raises(PeerError, match="hostb.*timeout must be a positive number of seconds"):
        load_peers(peers(tmp_path, value))
