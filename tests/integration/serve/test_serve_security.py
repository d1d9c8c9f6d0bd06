"""`cimprovider serve` and `cimprovider user` agree on where users live,
and HTTPS can be the only way in."""

from __future__ import annotations

import pytest
import pywbem

from tests.integration.serve.test_serve_command import run_cli
from tests.support.live import serve_process


def test_user_add_without_a_users_file_turns_authentication_on(tmp_path):
    # Neither command is told where: both take the default data directory.
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "CIMPROVIDER_NEW_PASSWORD": "alice-pw"}
    added = run_cli("user", "add", "alice", "--role", "admin", env=env)
    assert added.returncode == 0, added.stderr
    default_file = tmp_path / "xdg" / "cimprovider" / "users.json"
    assert default_file.is_file()
    assert added.stderr == (f"cimprovider: created {default_file}: a server already running without a users file "
                            "keeps authentication off until it is restarted\n")
    assert run_cli("user", "add", "bob", env=env).stderr == ""  # the file was there
    with serve_process("--port", "0", env=env) as served:
        startup = "".join(served.output)
        assert f"2 users from {default_file} (the default users file" in startup
        anonymous = pywbem.WBEMConnection(served.url, default_namespace="root/interop", timeout=30)
        with pytest.raises(pywbem.AuthError):
            anonymous.EnumerateInstanceNames("CIM_ObjectManager")
        alice = pywbem.WBEMConnection(served.url, ("alice", "alice-pw"), default_namespace="root/interop", timeout=30)
        assert len(alice.EnumerateInstanceNames("CIM_ObjectManager")) == 1


def test_user_add_and_serve_share_a_data_directory(tmp_path):
    env = {"CIMPROVIDER_DATA_DIR": str(tmp_path / "data"), "CIMPROVIDER_NEW_PASSWORD": "bob-pw"}
    assert run_cli("user", "add", "bob", env=env).returncode == 0
    assert run_cli("user", "list", env=env).stdout.split() == ["bob", "reader"]
    with serve_process("--port", "0", env=env) as served:
        anonymous = pywbem.WBEMConnection(served.url, default_namespace="root/interop", timeout=30)
        with pytest.raises(pywbem.AuthError):
            anonymous.EnumerateInstanceNames("CIM_ObjectManager")


def test_without_a_users_file_the_start_up_says_authentication_is_off(tmp_path):
    with serve_process("--port", "0", "--data-dir", str(tmp_path)) as served:
        startup = "".join(served.output)
    assert f"no users file ({tmp_path / 'users.json'} does not exist): authentication is off" in startup


def test_no_http_needs_an_https_port(tmp_path):
    result = run_cli("serve", "--port", "0", "--no-http", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "--no-http needs --https-port" in result.stderr


def test_no_http_serves_https_only(tmp_path, certificate, monkeypatch):  # noqa: F811 - the fixture
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    cert, key = certificate
    args = ("--port", "0", "--https-port", "0", "--no-http", "--certfile", str(cert), "--keyfile", str(key),
            "--data-dir", str(tmp_path))
    with serve_process(*args, expect_https=True, expect_http=False) as served:
        url = f"https://127.0.0.1:{served.ports['https']}"
        conn = pywbem.WBEMConnection(url, default_namespace="root/interop", ca_certs=str(cert), timeout=30)
        assert len(conn.EnumerateInstances("CIM_ObjectManager")) == 1
        announced = [line for line in served.output if "listening on" in line]
    assert len(announced) == 1 and "listening on https://" in announced[0]
