"""`cimprovider serve` as a user runs it: options, environment, TOML
configuration, authentication, HTTPS, and a clean stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import pytest
import pywbem
import requests
from pywbem import CIMError

from tests.support.live import serve_process
from tests.support.waiting import DEADLINE


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "cimprovider.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        input=input,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def users_file(tmp_path):
    path = tmp_path / "users.json"
    for name, role in (("alice", "admin"), ("bob", "reader")):
        result = run_cli("user", "add", name, "--role", role, "--users-file", str(path), env={"CIMPROVIDER_NEW_PASSWORD": f"{name}-pw"})
        assert result.returncode == 0, result.stderr
    return path


def test_user_commands(users_file):
    listed = run_cli("user", "list", "--users-file", str(users_file))
    assert listed.stdout.split() == ["alice", "admin", "bob", "reader"]
    removed = run_cli("user", "remove", "bob", "--users-file", str(users_file))
    assert removed.returncode == 0
    again = run_cli("user", "remove", "bob", "--users-file", str(users_file))
    assert (again.returncode, again.stderr) == (5, f"cimprovider: no user 'bob' in {users_file}\n")


def test_a_user_with_an_empty_password_is_refused(users_file):
    before = users_file.read_bytes()
    added = run_cli("user", "add", "carol", "--users-file", str(users_file), "--password", "")
    assert (added.returncode, added.stderr) == (
        2, "cimprovider: user carol: the password must not be empty (anyone could sign in as carol)\n")
    unasked = run_cli("user", "add", "carol", "--users-file", str(users_file), input="")  # no terminal to ask on
    assert unasked.returncode == 2 and unasked.stderr.endswith(
        "cimprovider: user carol: no password was given (give --password or CIMPROVIDER_NEW_PASSWORD, or type it "
        "when asked)\n")
    assert users_file.read_bytes() == before
    named = run_cli("user", "add", "a:b", "--users-file", str(users_file), env={"CIMPROVIDER_NEW_PASSWORD": "pw"})
    assert (named.returncode, named.stderr) == (2, "cimprovider: a user name must be non-empty and contain no ':'\n")


def test_unusable_start_up_files_are_usage_errors_naming_them(tmp_path):
    missing = run_cli("serve", "--port", "0", "--data-dir", str(tmp_path / "data"), "--https-port", "0",
                      "--certfile", str(tmp_path / "none.pem"), "--keyfile", str(tmp_path / "none.key"))
    assert (missing.returncode, missing.stderr.splitlines()[-1]) == (2, f"cimprovider: serve: --certfile {tmp_path / 'none.pem'}: no such file")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    unusable = run_cli("serve", "--port", "0", "--data-dir", str(tmp_path / "data"), "--https-port", "0",
                       "--certfile", str(junk), "--keyfile", str(junk))
    assert unusable.returncode == 2
    assert unusable.stderr.splitlines()[-1].startswith(f"cimprovider: serve: HTTPS cannot use the certificate {junk} with the key {junk}: ")
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    not_a_folder = run_cli("serve", "--port", "0", "--data-dir", str(a_file))
    assert (not_a_folder.returncode, not_a_folder.stderr.splitlines()[-1]) == (
        2, f"cimprovider: serve: the data directory {a_file} is a file, not a folder")
    assert "Traceback" not in missing.stderr + unusable.stderr + not_a_folder.stderr


def test_serves_on_announced_port_and_stops_cleanly_on_sigterm(tmp_path):
    with serve_process("--port", "0", "--data-dir", str(tmp_path)) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace="root/interop", timeout=30)
        assert len(conn.EnumerateInstances("CIM_ObjectManager")) == 1
        # An operation in flight when SIGTERM arrives still completes.
        results: list[object] = []
        worker = threading.Thread(target=lambda: results.append(conn.EnumerateClasses(DeepInheritance=True)))
        worker.start()
        code = served.stop(signal.SIGTERM)
        worker.join(timeout=30)
    assert code == 0
    assert results and len(results[0]) > 10


def test_environment_and_config_file(tmp_path):
    config = tmp_path / "server.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\nhost_name = "from-file"\nport = 1\n')
    # The environment wins over the file.
    with serve_process("--config", str(config), env={"CIMPROVIDER_PORT": "0", "CIMPROVIDER_HOST_NAME": "from-env"}) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace="root/interop", timeout=30)
        manager = conn.EnumerateInstances("CIM_ObjectManager")[0]
        assert manager["SystemName"] == "from-env"
    assert (tmp_path / "data").is_dir()


def test_bad_config_names_the_key(tmp_path):
    config = tmp_path / "server.toml"
    config.write_text('port = "many"\n')
    result = run_cli("serve", "--config", str(config))
    assert result.returncode != 0
    assert "port" in result.stderr


def test_refuses_non_loopback_without_users(tmp_path):
    result = run_cli("serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path))
    assert result.returncode != 0
    assert "without authentication" in result.stderr


def test_basic_auth_roles(tmp_path, users_file):
    with serve_process("--port", "0", "--data-dir", str(tmp_path), "--users-file", str(users_file)) as served:
        anonymous = pywbem.WBEMConnection(served.url, default_namespace="root/interop", timeout=30)
        with pytest.raises(pywbem.AuthError):
            anonymous.EnumerateInstances("CIM_ObjectManager")
        wrong = pywbem.WBEMConnection(served.url, ("alice", "nope"), default_namespace="root/interop", timeout=30)
        with pytest.raises(pywbem.AuthError):
            wrong.EnumerateInstances("CIM_ObjectManager")
        reader = pywbem.WBEMConnection(served.url, ("bob", "bob-pw"), default_namespace="root/interop", timeout=30)
        manager = reader.EnumerateInstanceNames("CIM_ObjectManager")[0]
        with pytest.raises(CIMError) as err:
            reader.InvokeMethod("RequestStateChange", manager, RequestedState=pywbem.Uint16(2))
        assert err.value.status_code == pywbem.CIM_ERR_ACCESS_DENIED
        admin = pywbem.WBEMConnection(served.url, ("alice", "alice-pw"), default_namespace="root/interop", timeout=30)
        assert admin.InvokeMethod("RequestStateChange", manager, RequestedState=pywbem.Uint16(2))[0] == 0
        response = requests.post(served.url + "/cimom", data=b"x", timeout=DEADLINE)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")


def test_https_on_second_port(tmp_path, certificate, monkeypatch):
    # requests lets these variables override the CA file pywbem is given.
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    cert, key = certificate
    args = ("--port", "0", "--https-port", "0", "--certfile", str(cert), "--keyfile", str(key), "--data-dir", str(tmp_path))
    with serve_process(*args, expect_https=True) as served:
        url = f"https://127.0.0.1:{served.ports['https']}"
        conn = pywbem.WBEMConnection(url, default_namespace="root/interop", ca_certs=str(cert), timeout=30)
        assert len(conn.EnumerateInstances("CIM_ObjectManager")) == 1
        plain = pywbem.WBEMConnection(served.url, default_namespace="root/interop", timeout=30)
        assert len(plain.EnumerateInstanceNames("CIM_Namespace")) == 2


def test_https_needs_certificate_and_key(tmp_path):
    result = run_cli("serve", "--port", "0", "--https-port", "0", "--data-dir", str(tmp_path))
    assert result.returncode != 0
    assert "certfile" in result.stderr


def test_storage_roots_from_the_environment(tmp_path):
    inside, outside = tmp_path / "images-a", tmp_path / "elsewhere"
    other = tmp_path / "images-b"
    env = {"CIMPROVIDER_STORAGE_ROOTS": f"{inside}:{other}"}
    with serve_process("--port", "0", "--data-dir", str(tmp_path / "data"), env=env) as served:
        made = run_cli("vhd", "new", str(other / "disk.vhdx"), "--size", "16M", "--server", served.url)
        assert made.returncode == 0, made.stderr
        refused = run_cli("vhd", "new", str(outside / "disk.vhdx"), "--size", "16M", "--server", served.url)
        assert refused.returncode == 1 and "storage roots" in refused.stderr
    assert (other / "disk.vhdx").is_file() and inside.is_dir()


def test_unknown_backend_is_one_line(tmp_path):
    result = run_cli("serve", "--port", "0", "--data-dir", str(tmp_path), "--backend", "hyperv-on-a-toaster")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "hyperv-on-a-toaster" in result.stderr and "simulated" in result.stderr


def test_unreachable_libvirt_is_one_line(tmp_path):
    result = run_cli(
        "serve", "--port", "0", "--data-dir", str(tmp_path), "--backend", "libvirt",
        "--libvirt-uri", "qemu+unix:///system?socket=/nonexistent/libvirt-sock",
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "libvirt" in result.stderr
