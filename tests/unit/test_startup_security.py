"""What the server says at start about how credentials travel. The
configured host is never bound here: these are the decisions alone."""

from __future__ import annotations

import logging

from cimprovider.http.auth import UsersFile
from cimprovider.schemas.config import ServerConfig
from cimprovider.server import load_users, plain_http_warning


def config(tmp_path, **values) -> ServerConfig:
    return ServerConfig(data_dir=tmp_path, **values)


def test_plain_http_past_loopback_is_warned_about(tmp_path):
    warning = plain_http_warning(config(tmp_path, host="0.0.0.0", port=5988))
    assert warning is not None
    assert "PASSWORDS TRAVEL IN CLEAR" in warning and "0.0.0.0:5988" in warning and "--no-http" in warning


def test_no_warning_on_loopback_or_without_http(tmp_path):
    assert plain_http_warning(config(tmp_path, host="127.0.0.1")) is None
    assert plain_http_warning(config(tmp_path, host="::1")) is None
    https_only = config(tmp_path, host="0.0.0.0", https_port=5989, no_http=True,
                        certfile=tmp_path / "c.pem", keyfile=tmp_path / "k.pem")
    assert plain_http_warning(https_only) is None


def test_the_warning_is_logged_at_start(tmp_path, caplog):
    users = tmp_path / "users.json"
    UsersFile(users).add("alice", "pw", "admin")
    with caplog.at_level(logging.WARNING, logger="cimprovider"):
        authenticator = load_users(config(tmp_path, host="0.0.0.0", users_file=users))
    assert authenticator.enabled
    assert any("PASSWORDS TRAVEL IN CLEAR" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
