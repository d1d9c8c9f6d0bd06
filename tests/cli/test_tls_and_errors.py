"""TLS as a client on a corporate or container machine sees it: the CA
variables of the environment never override --ca-cert or --no-verify, TLS
failures are one readable line, and a missing file given on the command line
is a usage error (2), never a traceback."""

from __future__ import annotations

import subprocess

import pytest

from tests.cli.conftest import subprocess_cli
from tests.support.live import serve_process

CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


@pytest.fixture(scope="module")
def https_server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    # A CA bundle that does not hold the server's certificate, as a machine's own would not.
    other_cert, other_key = directory / "other.pem", directory / "other-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other",
         "-keyout", str(other_key), "-out", str(other_cert)], check=True, capture_output=True)
    args = ("--port", "0", "--https-port", "0", "--certfile", str(cert), "--keyfile", str(key),
            "--data-dir", str(directory / "data"))
    with serve_process(*args, expect_https=True) as served:
        yield f"https://127.0.0.1:{served.ports['https']}", cert, other_cert


@pytest.mark.parametrize("variable", CA_VARIABLES)
def test_ca_cert_wins_over_the_environment(https_server, variable):
    url, cert, other = https_server
    result = subprocess_cli("vm", "list", "-s", url, "--ca-cert", str(cert), env={variable: str(other)})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("variable", CA_VARIABLES)
def test_no_verify_wins_over_the_environment(https_server, variable):
    url, _cert, other = https_server
    result = subprocess_cli("vm", "list", "-s", url, "--no-verify", env={variable: str(other)})
    assert result.returncode == 0, result.stderr


def test_an_unknown_certificate_is_one_whole_line(https_server):
    url, _cert, other = https_server
    result = subprocess_cli("vm", "list", "-s", url, env={"REQUESTS_CA_BUNDLE": str(other)})
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert "certificate verify failed" in result.stderr and "--ca-cert" in result.stderr
    assert result.stderr.count("(") == result.stderr.count(")")


def test_a_missing_ca_file_is_a_usage_error(tmp_path):
    missing = tmp_path / "ca.pem"
    result = subprocess_cli("vm", "list", "--server", "https://127.0.0.1:9", "--server", "https://127.0.0.2:9",
                            "--ca-cert", str(missing))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert str(missing) in result.stderr and "no such file" in result.stderr


def test_usage_errors_are_one_line():
    result = subprocess_cli("vm", "list", "--no-such-option")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "cimprovider: vm list: No such option: --no-such-option (see 'cimprovider vm list --help')\n"


def test_a_mistyped_server_list_is_named_as_such(tmp_path):
    config = tmp_path / "client.toml"
    config.write_text('[servers]\nlab = ["http://127.0.0.1:9"]\n')
    result = subprocess_cli("vm", "list", "-s", "labx", env={"CIMPROVIDER_CLIENT_CONFIG": str(config)})
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "no server list of that name" in result.stderr and "lists: lab" in result.stderr


def test_serve_on_a_port_in_use_is_one_line(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess_cli("serve", "--port", str(port), "--data-dir", str(tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"cimprovider: serve: cannot listen on 127.0.0.1:{port}: the address is already in use" in result.stderr
